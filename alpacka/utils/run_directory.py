"""A run's output directory: the one module that knows its file names.

Layout of ``<output_dir>`` (``--output_dir`` of ``python3 -m alpacka.runner``)::

    metrics.jsonl       one JSON object per logged scalar (JsonlLogger);
                        read back with alpacka.metric_logging.read_series
    config.gin          the Gin config of the run that created the directory:
                        its parsed bindings when it starts, its operative
                        config after its first epoch; never rewritten once
                        a checkpoint exists (a resumed run is compared to it)
    config_changes/     <n>_<timestamp>.gin: each change of bindings accepted
                        on resume (--allow_config_change), with the
                        differences to config.gin in its header
    .run.lock           held (fcntl.flock) by the run using the directory;
                        holds its PID; removed when the run ends
    checkpoints/        the Runner's checkpoints (runner/checkpointing.py
                        describes what is inside)
    batch_stepper/      output directory of the Runner's batch stepper (and
                        of its evaluation stepper); agents may write there
      traces/           search traces (agents.SearchTraceCallback):
                        <mode>-epoch<E>-env<I>-episode<K>.json per recorded
                        episode (mode: train or eval), and images/ the PNG
                        renderings of their states, one file per picture
                        (named by its content digest); read by
                        python3 -m alpacka.trace_explorer
    tensorboard/        TensorBoard event files (--tensorboard)
    error.log           the traceback of the last run that failed (for a
                        lost Ray node: the paragraph and Ray's last words)
    supervisor.jsonl    one JSON object per start and exit of the run under
                        python3 -m alpacka.supervise

An experiment directory of a sweep (``python3 -m alpacka.sweep``) is a run
directory that also holds ``sweep_status.json`` (the sweep's record of the
experiment) and ``log.txt`` (the experiment's output, appended to on every
attempt); the sweep directory above them holds ``.sweep.lock`` (a RunLock
like ``.run.lock``).

Only names live here, no RL: every package may import it.
"""

import os
import re
from typing import Any, Dict, Optional

METRICS_FILE = 'metrics.jsonl'
CONFIG_FILE = 'config.gin'
CHECKPOINTS_DIR = 'checkpoints'
BATCH_STEPPER_DIR = 'batch_stepper'
TENSORBOARD_DIR = 'tensorboard'
ERROR_LOG_FILE = 'error.log'
SWEEP_STATUS_FILE = 'sweep_status.json'
SWEEP_LOG_FILE = 'log.txt'
SWEEP_LOCK_FILE = '.sweep.lock'
RUN_LOCK_FILE = '.run.lock'
CONFIG_CHANGES_DIR = 'config_changes'
SUPERVISOR_LOG_FILE = 'supervisor.jsonl'
# checkpoints/latest: names the newest whole checkpoint (checkpointing.py).
LATEST_CHECKPOINT_FILE = 'latest'
TRACES_DIR = 'traces'
TRACE_SUFFIX = '.json'
TRACE_IMAGES_DIR = 'images'


def metrics_path(output_dir: str) -> str:
    """``<output_dir>/metrics.jsonl``."""
    return os.path.join(output_dir, METRICS_FILE)


def config_path(output_dir: str) -> str:
    """``<output_dir>/config.gin``."""
    return os.path.join(output_dir, CONFIG_FILE)


def error_log_path(output_dir: str) -> str:
    """``<output_dir>/error.log``: the traceback of a failed run."""
    return os.path.join(output_dir, ERROR_LOG_FILE)


def checkpoints_dir(output_dir: str) -> str:
    """``<output_dir>/checkpoints``."""
    return os.path.join(output_dir, CHECKPOINTS_DIR)


def batch_stepper_dir(output_dir: str) -> str:
    """``<output_dir>/batch_stepper``: the Runner's batch stepper's own."""
    return os.path.join(output_dir, BATCH_STEPPER_DIR)


def traces_dir(output_dir: str) -> str:
    """``<output_dir>/batch_stepper/traces``: the run's search traces."""
    return stepper_traces_dir(batch_stepper_dir(output_dir))


def stepper_traces_dir(stepper_dir: str) -> str:
    """``<stepper_dir>/traces``: the search traces of a batch stepper's
    agents (stepper_dir: the stepper's output_dir)."""
    return os.path.join(stepper_dir, TRACES_DIR)


def trace_file_name(mode: str, epoch: Optional[int], env_index: int,
                    episode_index: int) -> str:
    """The name of one episode's trace in a traces directory.

    Args:
        mode: 'train' or 'eval'.
        epoch: The Runner's epoch of the episode (None: played outside a
            Runner).
        env_index: The env's index in the whole batch (across Ray workers).
        episode_index: The episode's number among that env's agent's.
    """
    epoch_part = 'none' if epoch is None else f'{epoch:04d}'
    return (f'{mode}-epoch{epoch_part}-env{env_index:03d}-'
            f'episode{episode_index:04d}{TRACE_SUFFIX}')


_TRACE_FILE_NAME = re.compile(
    r'^(?P<mode>[a-z]+)-epoch(?P<epoch>\d+|none)-env(?P<env_index>\d+)-'
    r'episode(?P<episode_index>\d+)' + re.escape(TRACE_SUFFIX) + '$')


def parse_trace_file_name(name: str) -> Optional[Dict[str, Any]]:
    """What trace_file_name made name from, or None for another name.

    Returns:
        {'mode', 'epoch' (None outside a Runner), 'env_index',
        'episode_index'}.
    """
    match = _TRACE_FILE_NAME.match(name)
    if match is None:
        return None
    epoch = match['epoch']
    return {'mode': match['mode'],
            'epoch': None if epoch == 'none' else int(epoch),
            'env_index': int(match['env_index']),
            'episode_index': int(match['episode_index'])}


def supervisor_log_path(output_dir: str) -> str:
    """``<output_dir>/supervisor.jsonl``: the supervisor's starts and exits."""
    return os.path.join(output_dir, SUPERVISOR_LOG_FILE)


def tensorboard_dir(output_dir: str) -> str:
    """``<output_dir>/tensorboard``."""
    return os.path.join(output_dir, TENSORBOARD_DIR)


def is_run_directory(directory: str) -> bool:
    """Whether directory holds a run: a metrics.jsonl file."""
    return os.path.isfile(metrics_path(directory))


def config_changes_dir(output_dir: str) -> str:
    """``<output_dir>/config_changes``: bindings accepted on resume."""
    return os.path.join(output_dir, CONFIG_CHANGES_DIR)


def has_checkpoint(output_dir: str) -> bool:
    """Whether output_dir holds a run's checkpoint (a ``latest`` pointer)."""
    return os.path.exists(os.path.join(checkpoints_dir(output_dir),
                                       LATEST_CHECKPOINT_FILE))
