"""Finding and listing a run's search traces (files only, no HTTP)."""

import os
import re
from typing import Any, Dict, List

from alpacka import errors
from alpacka.utils import run_directory

_IMAGE_NAME = re.compile(r'^[0-9a-f]{8,64}\.png$')


class TraceDirectoryError(errors.UserError):
    """The directory given to the explorer holds no traces."""


def _has_traces(directory: str) -> bool:
    return os.path.isdir(directory) and any(
        is_trace_name(entry) for entry in os.listdir(directory))


def find_traces_dir(directory: str) -> str:
    """The traces directory of a run's output directory.

    Accepts the run's output directory (traces in
    ``batch_stepper/traces``), a batch stepper's output directory, or a
    traces directory itself.

    Raises:
        TraceDirectoryError: directory holds no traces (one paragraph that
            says what to give instead).
    """
    if not os.path.isdir(directory):
        raise TraceDirectoryError(
            f'{directory} is not a directory. Give the --output_dir of a run '
            f'(python3 -m alpacka.runner ... --output_dir=DIR) whose agents '
            f'recorded search traces.')
    for candidate in (run_directory.traces_dir(directory),
                      run_directory.stepper_traces_dir(directory), directory):
        if _has_traces(candidate):
            return candidate
    how = ('Record traces with the Gin binding OnlineAgent.callback_classes '
           '= [@alpacka.agents.search_trace.SearchTraceCallback] (see its '
           'sample_rate and render_states), then run again.')
    if os.path.isfile(run_directory.config_path(directory)) or (
            run_directory.is_run_directory(directory)):
        raise TraceDirectoryError(
            f'The run in {directory} has no search traces (no trace files '
            f'in {run_directory.traces_dir(directory)}). {how}')
    raise TraceDirectoryError(
        f'{directory} is not a run directory (it holds no '
        f'{run_directory.METRICS_FILE} or {run_directory.CONFIG_FILE}) and '
        f'holds no search traces. Give the --output_dir of a run. {how}')


def list_traces(traces_dir: str) -> List[Dict[str, Any]]:
    """The trace files of traces_dir, in the order (mode, epoch, env,
    episode).

    Returns:
        One dict per file: name, mode, epoch (None outside a Runner),
        env_index, episode_index, size (bytes).
    """
    listing = []
    for entry in os.listdir(traces_dir):
        fields = run_directory.parse_trace_file_name(entry)
        if fields is None:
            continue
        listing.append({
            'name': entry, **fields,
            'size': os.path.getsize(os.path.join(traces_dir, entry))})
    listing.sort(key=lambda item: (item['mode'] != 'train', item['mode'],
                                   -1 if item['epoch'] is None
                                   else item['epoch'],
                                   item['env_index'], item['episode_index']))
    return listing


def is_trace_name(name: str) -> bool:
    """Whether name is a trace file's name (nothing that leaves the dir)."""
    return run_directory.parse_trace_file_name(name) is not None


def is_image_name(name: str) -> bool:
    """Whether name is an image file's name in the traces' images/."""
    return _IMAGE_NAME.match(name) is not None
