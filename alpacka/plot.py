"""Learning curves of runs: ``python3 -m alpacka.plot OUTPUT_DIR ... --metric NAME``.

Reads each run's ``metrics.jsonl`` and writes one PNG. An OUTPUT_DIR that
holds no metrics.jsonl is searched for runs below it (a sweep directory).
With ``--group_by Selector.param`` runs are grouped by that binding in their
``config.gin`` (e.g. seeds of one setting) and each group is drawn as the
mean over its runs at every step, with the spread across runs shaded:
min to max (``--spread minmax``, the default), mean +- one standard
deviation (``--spread std``) or none. Without it every run is its own curve.
The x axis is the Runner's step, the epoch.

    python3 -m alpacka.plot sweeps/shooting --metric episode/return_mean \\
        --group_by ShootingAgent.n_rollouts --output rollouts.png
"""

import argparse
import difflib
import math
import os
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from alpacka import metric_logging
from alpacka.metric_logging import gin_params
from alpacka.utils import atomic_files
from alpacka.utils import run_directory

SPREADS = ('minmax', 'std', 'none')


class PlotError(Exception):
    """A problem with the runs or the arguments; the message says what to do."""


class Curve(NamedTuple):
    """One plotted line: a group of runs (or a single run).

    Attributes:
        label: The legend entry (the group's parameter value, or the run).
        runs: The run directories averaged, sorted.
        steps: ``[T]`` steps where at least one run has a value.
        mean: ``[T]`` mean over the runs that have the step.
        low: ``[T]`` lower edge of the shaded spread (= mean for 'none').
        high: ``[T]`` upper edge of the shaded spread (= mean for 'none').
    """
    label: str
    runs: Tuple[str, ...]
    steps: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


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


def read_curve(run_dir: str, metric: str) -> Tuple[np.ndarray, np.ndarray]:
    """One metric of a run.

    Args:
        run_dir: A run's output directory.
        metric: The metric's name, e.g. ``episode/return_mean``.

    Returns:
        ``(steps, values)``, ``[T]`` arrays sorted by step; the last record
        of a step wins, non-finite values (null in the file) are NaN. Empty
        if the run never logged the metric.
    """
    by_step = {step: math.nan if value is None else float(value)
               for step, value in metric_logging.read_series(run_dir).get(
                   metric, {}).items()}
    steps = np.array(sorted(by_step), dtype=np.int64)
    return steps, np.array([by_step[step] for step in steps], np.float64)


def metric_names(run_dirs: Sequence[str]) -> List[str]:
    """Every metric name logged by any of the runs, sorted."""
    names = set()
    for run_dir in run_dirs:
        names.update(metric_logging.read_series(run_dir))
    return sorted(names)


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


def aggregate(label: str, run_dirs: Sequence[str],
              curves: Sequence[Tuple[np.ndarray, np.ndarray]],
              spread: str = 'minmax') -> Curve:
    """Mean and spread of several runs' curves, step by step.

    Args:
        label: The curve's label.
        run_dirs: The runs, as in curves.
        curves: ``(steps, values)`` per run, as read_curve returns.
        spread: 'minmax', 'std' or 'none' (see the module docstring).

    Returns:
        The Curve over the steps where at least one run has a finite value;
        each step averages only the runs that have it.
    """
    steps = np.unique(np.concatenate([run_steps for run_steps, _ in curves]))
    table = np.full((len(curves), len(steps)), np.nan)  # [runs, T]
    for row, (run_steps, values) in zip(table, curves):
        row[np.searchsorted(steps, run_steps)] = values
    finite = np.isfinite(table)
    keep = finite.any(axis=0)
    table, finite, steps = table[:, keep], finite[:, keep], steps[keep]
    counts = finite.sum(axis=0)
    mean = np.where(finite, table, 0.0).sum(axis=0) / counts
    if spread == 'minmax':
        low = np.where(finite, table, np.inf).min(axis=0)
        high = np.where(finite, table, -np.inf).max(axis=0)
    elif spread == 'std':
        deviation = np.sqrt(np.where(finite, (table - mean) ** 2, 0.0)
                            .sum(axis=0) / counts)
        low, high = mean - deviation, mean + deviation
    else:
        low = high = mean
    return Curve(label, tuple(sorted(run_dirs)), steps, mean, low, high)


def learning_curves(paths: Sequence[str], metric: str,
                    group_by: Optional[str] = None,
                    spread: str = 'minmax') -> List[Curve]:
    """The curves that plot_learning_curves draws, without drawing them.

    Args:
        paths: Run or sweep directories (see find_runs).
        metric: Metric name.
        group_by: Gin binding to group runs by (None: one curve per run).
        spread: 'minmax', 'std' or 'none'.

    Returns:
        One Curve per group, in group order.

    Raises:
        PlotError: No runs, or no run logged the metric (the message lists
            the closest names that were logged).
    """
    if spread not in SPREADS:
        raise PlotError(f'--spread must be one of {", ".join(SPREADS)}, '
                        f'got {spread!r}.')
    run_dirs = find_runs(paths)
    read = {run: read_curve(run, metric) for run in run_dirs}
    with_metric = [run for run in run_dirs if len(read[run][0])]
    if not with_metric:
        names = metric_names(run_dirs)
        close = difflib.get_close_matches(metric, names, n=3, cutoff=0.4)
        raise PlotError(
            f'No run logged the metric {metric!r} ({len(run_dirs)} runs '
            f'read).' + (f' Close names: {", ".join(close)}.' if close else '')
            + f' Metrics logged: {len(names)}, e.g. '
            f'{", ".join(names[:6]) or "none"}.')
    for run in run_dirs:
        if run not in with_metric:
            print(f'alpacka.plot: {run} has no {metric!r} yet; left out.',
                  file=sys.stderr)
    return [aggregate(label, runs, [read[run] for run in runs], spread)
            for label, runs in group_runs(with_metric, group_by).items()]


def draw(curves: Sequence[Curve], metric: str, output: str,
         group_by: Optional[str] = None, spread: str = 'minmax') -> None:
    """Writes the curves as a PNG (matplotlib's Agg canvas, no display).

    Args:
        curves: As learning_curves returns.
        metric: The metric's name (title and y label).
        output: The PNG's path.
        group_by: The grouping binding (legend title), or None.
        spread: The spread the curves hold (named in the caption).
    """
    # pylint: disable=import-outside-toplevel
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    figure = Figure(figsize=(8, 5), dpi=100, layout='constrained')
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for curve in curves:
        n_runs = len(curve.runs)
        label = (f'{curve.label} ({n_runs} run{"s" if n_runs > 1 else ""})'
                 if group_by else curve.label)
        line, = axes.plot(curve.steps, curve.mean, label=label,
                          marker='.' if len(curve.steps) < 30 else None)
        if spread != 'none' and n_runs > 1:
            axes.fill_between(curve.steps, curve.low, curve.high,
                              color=line.get_color(), alpha=0.2, linewidth=0)
    axes.set_xlabel('epoch')
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(metric)
    caption = {'minmax': 'mean over runs, shaded min to max',
               'std': 'mean over runs, shaded +-1 std',
               'none': 'mean over runs'}[spread]
    axes.set_title(metric + (f'  ({caption})' if group_by else ''))
    axes.grid(True, alpha=0.3)
    axes.legend(title=group_by, fontsize='small')
    # Written whole or not at all: a failed write keeps an earlier figure.
    try:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        with atomic_files.atomic_write(output, 'wb') as output_file:
            figure.savefig(output_file, format=_image_format(output))
    except OSError as error:
        raise PlotError(f'Cannot write {output}: {error.strerror or error}. '
                        f'Choose another --output.') from error


def _image_format(output: str) -> str:
    return os.path.splitext(output)[1][1:].lower()


def check_output(output: str) -> str:
    """Checks the figure's path before any run is read.

    Args:
        output: The --output value; without an extension, ``.png`` is added.

    Returns:
        The path to write.

    Raises:
        PlotError: it is a directory, or its extension names no image
            format matplotlib writes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=import-outside-toplevel
    if os.path.isdir(output):
        raise PlotError(f'--output {output} is a directory; name a file in '
                        f'it, e.g. {os.path.join(output, "plot.png")}.')
    if not _image_format(output):
        output += '.png'
    formats = FigureCanvasAgg.get_supported_filetypes()
    if _image_format(output) not in formats:
        raise PlotError(
            f'--output {output}: {_image_format(output)!r} is not an image '
            f'format matplotlib writes; end the name with one of '
            f'{", ".join("." + name for name in sorted(formats))}.')
    return output


def plot_learning_curves(paths: Sequence[str], metric: str, output: str,
                         group_by: Optional[str] = None,
                         spread: str = 'minmax') -> List[Curve]:
    """Reads the runs' curves and writes them as a PNG.

    Args:
        paths: Run or sweep directories (see find_runs).
        metric: Metric name, e.g. ``episode/return_mean``.
        output: The PNG's path.
        group_by: Gin binding to group runs by (None: one curve per run).
        spread: 'minmax', 'std' or 'none'.

    Returns:
        The plotted curves (see learning_curves).

    Raises:
        PlotError: see check_output, learning_curves and draw.
    """
    output = check_output(output)
    curves = learning_curves(paths, metric, group_by, spread)
    draw(curves, metric, output, group_by, spread)
    return curves


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        prog='python3 -m alpacka.plot',
        description='Plots learning curves of Alpacka runs from their '
                    'metrics.jsonl files.')
    parser.add_argument('output_dirs', nargs='+', metavar='OUTPUT_DIR',
                        help='A run\'s output directory, or a directory of '
                             'runs (a sweep).')
    parser.add_argument('--metric', default='episode/return_mean',
                        help='Metric to plot (default: %(default)s).')
    parser.add_argument('--output', default='plot.png',
                        help='PNG to write (default: %(default)s).')
    parser.add_argument('--group_by', default=None, metavar='GIN.PARAM',
                        help='Group runs by this binding of their config.gin '
                             '(e.g. ShootingAgent.n_rollouts) and plot each '
                             'group\'s mean and spread.')
    parser.add_argument('--spread', default='minmax', choices=SPREADS,
                        help='Shaded spread across a group\'s runs: min to '
                             'max, +-1 standard deviation, or none '
                             '(default: %(default)s).')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit code (2 for a problem with the input)."""
    args = parse_args(argv)
    try:
        output = check_output(args.output)
        curves = plot_learning_curves(args.output_dirs, args.metric,
                                      output, args.group_by, args.spread)
    except PlotError as error:
        print(f'alpacka.plot: error: {error}', file=sys.stderr)
        return 2
    n_runs = sum(len(curve.runs) for curve in curves)
    print(f'Wrote {output}: {args.metric} of {n_runs} runs in '
          f'{len(curves)} curves.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
