"""The ``--at`` table: each group's statistic and interval at chosen x values.

A title line and a Markdown table, one row per group, to paste into a
paper or a README (the title is one line)::

    IQM of episode/return_mean at counters/env_steps: IQM [95% bootstrap CI]
    (runs with a value there)
    | ShootingAgent.n_rollouts | runs | 2000 | 3000 |
    | --- | --- | --- | --- |
    | 8 | 10 | -182.3 [-210.4, -160.2] (10) | -150.1 [-170.0, -140.2] (9) |
"""

import math
from typing import Dict, List, Optional, Sequence

from alpacka.metric_logging import aggregation
from alpacka.plot.aggregating import estimates_at
from alpacka.plot.drawing import STATISTIC_NAMES
from alpacka.plot.errors import PlotError
from alpacka.plot.runs import RunCurve, x_metric_name

NO_RUNS = 'no runs'


def check_at(at: Optional[Sequence[float]]) -> None:
    """Checks the --at values before any run is read.

    Raises:
        PlotError: a value is not a finite number.
    """
    for value in at or ():
        if not math.isfinite(value):
            raise PlotError(f'--at {value}: the x values of the table must '
                            f'be finite numbers, e.g. --at 2000 3000.')


def _number(value: float) -> str:
    """A value with about four significant digits, without exponents for
    the usual magnitudes of returns."""
    return f'{value:.1f}' if abs(value) >= 100 else f'{value:.4g}'


def cell(estimate: Optional[aggregation.Estimate]) -> str:
    """``point [low, high] (runs)``, or 'no runs'."""
    if estimate is None:
        return NO_RUNS
    return (f'{_number(estimate.point)} [{_number(estimate.low)}, '
            f'{_number(estimate.high)}] ({estimate.n_runs})')


def table_rows(groups: Dict[str, Dict[str, RunCurve]], at: Sequence[float],
               statistic: str = 'iqm', confidence: float = 0.95,
               reps: int = 2000, seed: Optional[int] = 0
               ) -> Dict[str, List[Optional[aggregation.Estimate]]]:
    """Each group's estimates at the x values (see estimates_at).

    Args:
        groups: ``{label: {run_dir: (xs, values)}}`` as read_groups returns.
        at: x values.
        statistic, confidence, reps, seed: See aggregation.interval_estimate.

    Returns:
        ``{label: [Estimate or None per x value]}``.
    """
    return {label: estimates_at(list(runs.values()), at, statistic,
                                confidence, reps, seed)
            for label, runs in groups.items()}


def format_table(groups: Dict[str, Dict[str, RunCurve]], at: Sequence[float],
                 metric: str, x: str, group_by: Optional[str] = None,
                 statistic: str = 'iqm', confidence: float = 0.95,
                 reps: int = 2000, seed: Optional[int] = 0) -> str:
    """The --at table as Markdown (a title line, then the table).

    Args:
        groups: As read_groups returns.
        at: x values, one column each.
        metric: The metric's name (in the title line).
        x: The x axis (in the title line).
        group_by: The grouping binding (the first column's header).
        statistic, confidence, reps, seed: See aggregation.interval_estimate.

    Returns:
        The lines, joined by newlines (no trailing newline).
    """
    rows = table_rows(groups, at, statistic, confidence, reps, seed)
    statistic_name = STATISTIC_NAMES[statistic]
    lines = [f'{statistic_name} of {metric} at '
             f'{x_metric_name(x) or x}: {statistic_name} '
             f'[{100 * confidence:g}% bootstrap CI] (runs with a value there)',
             '| ' + ' | '.join([group_by or 'run', 'runs']
                               + [f'{value:g}' for value in at]) + ' |',
             '| ' + ' | '.join(['---'] * (len(at) + 2)) + ' |']
    for label, estimates in rows.items():
        lines.append('| ' + ' | '.join(
            [label, str(len(groups[label]))]
            + [cell(estimate) for estimate in estimates]) + ' |')
    return '\n'.join(lines)
