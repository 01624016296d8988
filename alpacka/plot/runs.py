"""Finding runs, reading their curves, and grouping them by a Gin binding.

A run is a directory that holds a ``metrics.jsonl`` (read through
``alpacka.metric_logging.read_series``) and usually a ``config.gin``.
"""

import difflib
import math
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from alpacka import metric_logging
from alpacka.metric_logging import gin_params
from alpacka.metric_logging import reading
from alpacka.plot.errors import PlotError
from alpacka.utils import run_directory

# The x axis named by the Runner's step rather than by a metric.
EPOCH = 'epoch'
# Short names of x metrics (--x env_steps).
X_ALIASES = {'env_steps': 'counters/env_steps'}

# (xs [T], values [T]) of one run.
RunCurve = Tuple[np.ndarray, np.ndarray]


def find_runs(paths: Sequence[str]) -> List[str]:
    """Run directories in paths: each path that holds a metrics.jsonl, else
    every directory below it that does (hidden directories skipped).

    Args:
        paths: Run or sweep directories.

    Returns:
        Run directories, each once, in the order found (sorted per path).

    Raises:
        PlotError: A path does not exist or holds no run.
    """
    runs = []
    for path in paths:
        if not os.path.isdir(path):
            why = ('a file' if os.path.exists(path) else
                   f'nothing (working directory: {os.getcwd()})')
            raise PlotError(
                f'{path} is not a directory: it is {why}. Give run output '
                f'directories (--output_dir of python3 -m alpacka.runner) or '
                f'directories that hold them.')
        found = []
        for directory, subdirectories, files in os.walk(path):
            subdirectories[:] = sorted(name for name in subdirectories
                                       if not name.startswith('.'))
            if run_directory.METRICS_FILE in files:
                found.append(directory)
                subdirectories[:] = []  # A run's own subdirectories hold none.
        if not found:
            raise PlotError(
                f'No run in {path}: no {run_directory.METRICS_FILE} in it or '
                f'below it. '
                f'Give run output directories (--output_dir of '
                f'python3 -m alpacka.runner) or directories that hold them.')
        runs.extend(run for run in found if run not in runs)
    return runs


def x_metric_name(x: str) -> Optional[str]:
    """The metric an --x value names: None for 'epoch', aliases expanded."""
    return None if x == EPOCH else X_ALIASES.get(x, x)


def _values(series: reading.Series, metric: str) -> Dict[int, float]:
    """{epoch: value} of one metric; non-finite values (null) are NaN."""
    return {step: math.nan if value is None else float(value)
            for step, value in series.get(metric, {}).items()}


def curve_from_series(series: reading.Series, metric: str,
                      x_metric: Optional[str] = None) -> RunCurve:
    """One metric of a run against epochs or against another metric.

    Args:
        series: The run's metrics, as read_series returns them.
        metric: The metric's name.
        x_metric: None for the epoch; else the metric whose value at each
            epoch places that epoch's point.

    Returns:
        ``(xs, values)``, ``[T]`` arrays in epoch order: the epochs
        (int64), or x_metric's value at each epoch (float64), where epochs
        that lack either metric, or whose x value is not finite, are
        dropped. Values that were not finite (null in the file) are NaN.
        Empty if the run never logged the metric.
    """
    by_step = _values(series, metric)
    steps = np.array(sorted(by_step), dtype=np.int64)
    values = np.array([by_step[step] for step in steps], np.float64)
    if x_metric is None:
        return steps, values
    x_by_step = _values(series, x_metric)
    xs = np.array([x_by_step.get(int(step), math.nan) for step in steps],
                  np.float64)
    placed = np.isfinite(xs)
    return xs[placed], values[placed]


def read_curve(run_dir: str, metric: str,
               x_metric: Optional[str] = None) -> RunCurve:
    """One metric of a run, from its metrics.jsonl.

    Args:
        run_dir: A run's output directory.
        metric: The metric's name, e.g. ``episode/return_mean``.
        x_metric: None: the points are placed at their epochs; else the
            name of the metric (e.g. ``counters/env_steps``) whose value at
            each epoch is that epoch's x.

    Returns:
        ``(xs, values)``, ``[T]`` arrays in epoch order (see
        curve_from_series); the last record of an epoch wins.
    """
    return curve_from_series(metric_logging.read_series(run_dir), metric,
                             x_metric)


def metric_names(run_dirs: Sequence[str]) -> List[str]:
    """Every metric name logged by any of the runs, sorted."""
    names = set()
    for run_dir in run_dirs:
        names.update(metric_logging.read_series(run_dir))
    return sorted(names)


def _unlogged_metric_error(what: str, metric: str, names: Sequence[str],
                           n_runs: int, fix: str = '') -> PlotError:
    """The error for a metric no run logged; it suggests close names."""
    close = difflib.get_close_matches(metric, names, n=3, cutoff=0.4)
    return PlotError(
        f'No run logged the {what} {metric!r} ({n_runs} runs read).'
        + (f' Close names: {", ".join(close)}.' if close else '')
        + f' Metrics logged: {len(names)}, e.g. '
        f'{", ".join(names[:6]) or "none"}.' + fix)


def _read_config(run_dir: str) -> Optional[str]:
    """The text of a run's config.gin, or None if it has none."""
    path = run_directory.config_path(run_dir)
    if not os.path.isfile(path):
        return None
    with open(path, encoding='utf-8') as config_file:
        return config_file.read()


def run_parameter(run_dir: str, name: str) -> Optional[str]:
    """The value a run's config.gin binds to name, as text.

    Args:
        run_dir: A run's output directory.
        name: A binding such as ``ShootingAgent.n_rollouts`` (a suffix of
            the full name is enough if it is unambiguous).

    Returns:
        The value's repr-like text (``32``, ``'@alpacka.agents.RandomAgent'``
        gives ``@alpacka.agents.RandomAgent``), or None if the run has no
        config.gin or it does not bind name.

    Raises:
        PlotError: config.gin cannot be parsed, or name is ambiguous in it.
    """
    text = _read_config(run_dir)
    if text is None:
        return None
    path = run_directory.config_path(run_dir)
    try:
        bindings = gin_params.parse_bindings(text)
        key = gin_params.find_binding(bindings, name)
    except SyntaxError as error:
        raise PlotError(f'Cannot parse {path}: {error}') from error
    except KeyError as error:
        raise PlotError(f'In {path}: {error.args[0]}') from error
    if not key:
        return None
    value = bindings[key]
    return value if isinstance(value, str) else repr(value)


def _sort_key(label: str) -> Tuple[int, float, str]:
    """Numbers in numeric order, then other labels alphabetically."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def group_runs(run_dirs: Sequence[str], group_by: Optional[str]
               ) -> Dict[str, List[str]]:
    """Runs grouped by a Gin binding (or one group per run).

    Args:
        run_dirs: Run directories.
        group_by: A binding name (see run_parameter), or None.

    Returns:
        ``{label: [run_dir]}`` ordered by label (numerically where labels
        are numbers). Runs that do not bind group_by form the group
        ``'<not set>'``.

    Raises:
        PlotError: No run binds group_by; the message suggests close names.
    """
    if group_by is None:
        common = os.path.commonpath(run_dirs) if len(run_dirs) > 1 else ''
        return {(os.path.relpath(run, common) if common else run): [run]
                for run in run_dirs}
    groups: Dict[str, List[str]] = {}
    for run_dir in run_dirs:
        value = run_parameter(run_dir, group_by)
        groups.setdefault('<not set>' if value is None else value,
                          []).append(run_dir)
    if list(groups) == ['<not set>']:
        known = set()
        for run_dir in run_dirs:
            text = _read_config(run_dir)
            if text is not None:
                known.update(gin_params.parse_bindings(text))
        close = difflib.get_close_matches(group_by, sorted(known), n=3)
        hint = f' Did you mean {" or ".join(repr(c) for c in close)}?' if close else ''
        raise PlotError(f'No run\'s {run_directory.CONFIG_FILE} binds '
                        f'{group_by!r}.{hint}')
    return {label: groups[label] for label in sorted(groups, key=_sort_key)}


def read_groups(paths: Sequence[str], metric: str,
                group_by: Optional[str] = None, x: str = EPOCH
                ) -> Dict[str, Dict[str, RunCurve]]:
    """The curves of the runs in paths, grouped.

    Runs that lack the metric, or the x metric, are left out with a note
    on stderr.

    Args:
        paths: Run or sweep directories (see find_runs).
        metric: Metric name.
        group_by: Gin binding to group runs by (None: one group per run).
        x: 'epoch', 'env_steps' or the name of a logged metric.

    Returns:
        ``{label: {run_dir: (xs, values)}}`` in group order (see group_runs
        and read_curve).

    Raises:
        PlotError: No runs, or no run logged the metric or the x metric
            (the message lists the closest names that were logged).
    """
    run_dirs = find_runs(paths)
    series = {run: metric_logging.read_series(run) for run in run_dirs}
    names = sorted({name for run in run_dirs for name in series[run]})
    with_metric = [run for run in run_dirs if series[run].get(metric)]
    if not with_metric:
        raise _unlogged_metric_error('metric', metric, names, len(run_dirs))
    x_metric = x_metric_name(x)
    read = {run: curve_from_series(series[run], metric, x_metric)
            for run in with_metric}
    placed = [run for run in with_metric if len(read[run][0])]
    if not placed:
        raise _unlogged_metric_error(
            'x metric (--x)', x_metric, names, len(run_dirs),
            f' Use --x {EPOCH} for the Runner\'s step, --x env_steps for '
            f'{X_ALIASES["env_steps"]}, or a metric logged at the epochs '
            f'that log {metric}.')
    for run in run_dirs:
        if run not in with_metric:
            print(f'alpacka.plot: {run} has no {metric!r} yet; left out.',
                  file=sys.stderr)
        elif run not in placed:
            print(f'alpacka.plot: {run} has no {x_metric!r} (--x) at the '
                  f'epochs of {metric!r}; left out.', file=sys.stderr)
    return {label: {run: read[run] for run in runs}
            for label, runs in group_runs(placed, group_by).items()}
