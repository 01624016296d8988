"""Drawing curves to an image file (matplotlib's Agg canvas, no display)."""

import os
from typing import Optional, Sequence

import numpy as np

from alpacka.plot.aggregating import Curve
from alpacka.plot.errors import PlotError
from alpacka.plot.runs import EPOCH, X_ALIASES, x_metric_name
from alpacka.utils import atomic_files

STATISTIC_NAMES = {'mean': 'mean', 'iqm': 'IQM', 'median': 'median'}


def caption(curves: Sequence[Curve], spread: str, statistic: str = 'mean',
            confidence: float = 0.95) -> str:
    """What a figure of grouped curves draws, e.g. ``IQM over 10 runs,
    shaded 95% bootstrap CI``.

    Args:
        curves: The drawn curves (their run counts are named).
        spread: 'minmax', 'std', 'none' or 'ci'.
        statistic: 'mean', 'iqm' or 'median'.
        confidence: Coverage of the 'ci' band.
    """
    counts = sorted({len(curve.runs) for curve in curves})
    if statistic == 'mean' and spread != 'ci':
        over = 'runs'  # The caption these figures always had.
    elif len(counts) == 1:
        over = f'{counts[0]} run{"s" if counts[0] > 1 else ""}'
    else:
        over = f'{counts[0]}-{counts[-1]} runs'
    shaded = {'minmax': ', shaded min to max', 'std': ', shaded +-1 std',
              'none': '',
              'ci': f', shaded {100 * confidence:g}% bootstrap CI'}[spread]
    return f'{STATISTIC_NAMES[statistic]} over {over}{shaded}'


def x_label(x: str) -> str:
    """The x axis' label: ``epoch``, or the x metric's name."""
    name = x_metric_name(x)
    if name is None:
        return EPOCH
    short = {metric: alias for alias, metric in X_ALIASES.items()}.get(name)
    return f'{short.replace("_", " ")} ({name})' if short else name


def draw(curves: Sequence[Curve], metric: str, output: str,
         group_by: Optional[str] = None, spread: str = 'minmax',
         statistic: str = 'mean', x: str = EPOCH,
         confidence: float = 0.95) -> None:
    """Writes the curves as an image (PNG unless output names another).

    Args:
        curves: As learning_curves returns.
        metric: The metric's name (title and y label).
        output: The image's path.
        group_by: The grouping binding (legend title), or None.
        spread: The band the curves hold (named in the caption).
        statistic: The statistic they hold (named in the caption).
        x: The x axis ('epoch', 'env_steps' or a metric name).
        confidence: Coverage of a 'ci' band (named in the caption).

    Raises:
        PlotError: the file cannot be written; an earlier one is kept.
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
        line, = axes.plot(curve.xs, curve.point, label=label,
                          marker='.' if len(curve.xs) < 30 else None)
        if spread != 'none' and n_runs > 1:
            axes.fill_between(curve.xs, curve.low, curve.high,
                              color=line.get_color(), alpha=0.2, linewidth=0)
    axes.set_xlabel(x_label(x))
    if all(np.all(np.mod(curve.xs, 1) == 0) for curve in curves):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(metric)
    title = caption(curves, spread, statistic, confidence)
    axes.set_title(metric + (f'  ({title})' if group_by else ''))
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
