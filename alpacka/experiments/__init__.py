"""Experiment management: mrunner specs and sweeps over their grids.

- ``specs`` (an alias of ``alpacka.runner.specs``): loading mrunner
  specifications (Python spec files, with Alpacka's own
  ``create_experiments_helper`` when mrunner is not installed, and pickled
  experiments), used by ``python3 -m alpacka.runner --mrunner``.
- ``bindings`` (an alias of ``alpacka.utils.gin_bindings``): experiment
  parameters as Gin bindings.
- ``sweep``: ``python3 -m alpacka.sweep``, which runs every experiment of a
  spec, locally or on Ray, and resumes unfinished ones; ``jobs`` (one
  experiment's command line, status file and process), ``naming`` (its
  directory name) and ``child_guard`` (stopping it with its launcher) serve
  it.

Importing this package imports neither Ray nor the sweep launcher.
"""

from alpacka.experiments import bindings, specs  # Aliases; see their modules.
from alpacka.runner.specs import (Experiment, create_experiments_helper,
                                  grid_combinations, load_experiments,
                                  load_for_mrunner, mrunner_stand_in)
from alpacka.utils.gin_bindings import gin_literal, parameters_to_bindings

__all__ = ['Experiment', 'create_experiments_helper', 'gin_literal',
           'grid_combinations', 'load_experiments', 'load_for_mrunner',
           'mrunner_stand_in', 'parameters_to_bindings']
