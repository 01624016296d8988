"""Runs' files for the plot tests, written by the real JSONL logger."""

import os

from alpacka import metric_logging
from alpacka.utils import run_directory

METRIC = 'episode/return_mean'
ENV_STEPS = 'counters/env_steps'


def write_run(run_dir, records, bindings=None):
    """Writes a run directory.

    Args:
        run_dir: The directory to make.
        records: ``{name: [value per epoch]}``; a value None is not logged.
        bindings: ``{Gin name: value}`` for config.gin (None: no config).

    Returns:
        run_dir, as a str.
    """
    os.makedirs(run_dir)
    logger = metric_logging.JsonlLogger(run_directory.metrics_path(run_dir))
    n_epochs = max(len(values) for values in records.values())
    for epoch in range(n_epochs):
        for name, values in records.items():
            if epoch < len(values) and values[epoch] is not None:
                logger.log_scalar(name, epoch, values[epoch])
    logger.close()
    if bindings is not None:
        with open(run_directory.config_path(run_dir), 'w',
                  encoding='utf-8') as config_file:
            config_file.writelines(f'{name} = {value!r}\n'
                                   for name, value in bindings.items())
    return str(run_dir)
