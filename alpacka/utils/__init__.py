"""Small helpers with no RL in them: the bottom layer, above alpacka.errors.

``atomic_files`` and ``pickle_files`` (crash-safe files), ``seeding``,
``schedules``, ``run_directory`` (the names of a run's files),
``gin_config`` (config.gin's text and the config Ray workers parse),
``gin_bindings`` (parameters as Gin literals), ``gin_errors`` (Gin's errors
as one paragraph), ``tensorflow_import`` (a quiet, lazy TensorFlow).
"""
