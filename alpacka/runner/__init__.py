"""The Runner (the epoch loop) and its command line, ``python3 -m alpacka.runner``.

- ``core``: the Runner;
- ``startup_checks``: the checks it makes before the first episode;
- ``epoch_metrics``: the episode/* summaries and the merge of train metrics;
- ``checkpointing``: atomic, resumable checkpoints;
- ``callbacks``: hooks around each epoch (EvaluationCallback);
- asynchronous actor-learner training (``Runner.async_training``):
  ``async_training`` (the AsyncTraining settings and their checks),
  ``async_pipeline`` (the feeder, the learner loop, parameter broadcast),
  ``rate_limiter`` (the update-to-data contract), ``batch_prefetch``
  (batches sampled ahead); the collectors are in alpacka.batch_steppers;
- ``cli``: the command line; ``specs``: the mrunner specs that its
  ``--mrunner`` (and the sweep, in alpacka.experiments) load.

The run directory's file names are in alpacka.utils.run_directory, the Gin
config text in alpacka.utils.gin_config, the error types in alpacka.errors
(``alpacka.runner.errors`` is an alias).
"""

from alpacka.runner.async_training import AsyncTraining
from alpacka.runner.callbacks import Callback
from alpacka.runner.cli import main
from alpacka.runner.core import Runner

__all__ = ['AsyncTraining', 'Callback', 'Runner', 'main']
