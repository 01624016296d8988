"""A group's runs as one curve: a statistic across runs at every x, shaded.

Runs whose points sit at different x values (e.g. env steps of runs with
different epoch sizes) are first put on the union of their x values: each
run is interpolated linearly between its own points and has no value
outside its own range (never extrapolated). At every x the statistic is
then taken over the runs that have a value there: the mean (with min to
max, +-1 std or no band), or the IQM or median of
``alpacka.metric_logging.aggregation`` with its stratified-bootstrap
confidence interval (``ci``, seeded so a figure is the same every time).
"""

from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from alpacka.metric_logging import aggregation
from alpacka.plot.errors import PlotError
from alpacka.plot.runs import RunCurve

STATISTICS = ('mean', 'iqm', 'median')
SPREADS = ('minmax', 'std', 'none', 'ci')
# Bootstrap resamples allowed: each x point resamples every run this often.
MAX_BOOTSTRAP_REPS = 100_000


class Curve(NamedTuple):
    """One plotted line: a group of runs (or a single run).

    Attributes:
        label: The legend entry (the group's parameter value, or the run).
        runs: The run directories aggregated, sorted.
        xs: ``[T]`` x values where at least one run has a value (epochs,
            or the x metric's values).
        point: ``[T]`` the statistic over the runs that have a value there.
        low: ``[T]`` lower edge of the shaded band (= point for 'none').
        high: ``[T]`` upper edge of the shaded band (= point for 'none').
        n_runs: ``[T]`` runs that have a value at each x.
        statistic: 'mean', 'iqm' or 'median'.
    """
    label: str
    runs: Tuple[str, ...]
    xs: np.ndarray
    point: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_runs: Optional[np.ndarray] = None
    statistic: str = 'mean'

    @property
    def steps(self) -> np.ndarray:
        """``[T]`` the x values (the name from when x was always the epoch)."""
        return self.xs

    @property
    def mean(self) -> np.ndarray:
        """``[T]`` the statistic (the name from when it was always the mean)."""
        return self.point


def default_spread(statistic: str) -> str:
    """The band drawn when none is asked for: min to max around a mean, the
    bootstrap interval around an IQM or median."""
    return 'minmax' if statistic == 'mean' else 'ci'


def check_options(statistic: str, spread: Optional[str], confidence: float,
                  reps: int) -> str:
    """Checks the aggregation options before any run is read.

    Args:
        statistic: --aggregate.
        spread: --spread, or None for the statistic's default.
        confidence: --confidence, in (0, 1).
        reps: --bootstrap_reps, in [1, MAX_BOOTSTRAP_REPS].

    Returns:
        The spread to draw.

    Raises:
        PlotError: a value is not allowed; the message says which are.
    """
    if statistic not in STATISTICS:
        raise PlotError(f'--aggregate must be one of {", ".join(STATISTICS)}, '
                        f'got {statistic!r}.')
    spread = default_spread(statistic) if spread is None else spread
    if spread not in SPREADS:
        raise PlotError(f'--spread must be one of {", ".join(SPREADS)}, '
                        f'got {spread!r}.')
    if not 0 < confidence < 1:
        raise PlotError(
            f'--confidence {confidence:g} is not in (0, 1): give the '
            f'interval\'s coverage as a fraction, e.g. --confidence 0.95 '
            f'for a 95% interval.')
    if isinstance(reps, bool) or not 1 <= reps <= MAX_BOOTSTRAP_REPS:
        raise PlotError(
            f'--bootstrap_reps {reps} is not in [1, {MAX_BOOTSTRAP_REPS}]: '
            f'give the number of bootstrap resamples per point, e.g. 2000 '
            f'(the default); more make the interval\'s edges steadier.')
    return spread


def on_grid(xs: np.ndarray, values: np.ndarray, grid: np.ndarray
            ) -> np.ndarray:
    """A run's values at the grid's x values, by linear interpolation.

    Args:
        xs: ``[T]`` the run's x values, in epoch order. Where several
            epochs share an x value, the last of them is used.
        values: ``[T]`` its values (NaN where not finite).
        grid: ``[G]`` x values, sorted.

    Returns:
        ``[G]`` values: the run's own value at its own x values; between
        two of its points, the straight line between them (NaN if either
        is NaN); NaN outside ``[min(xs), max(xs)]``.
    """
    result = np.full(len(grid), np.nan)
    if np.size(xs) == 0:
        return result
    # The last epoch of each x value: reversed, np.unique keeps the first.
    last = len(xs) - 1 - np.unique(np.asarray(xs)[::-1], return_index=True)[1]
    xs, values = np.asarray(xs, np.float64)[last], values[last]  # Sorted.
    grid = np.asarray(grid, np.float64)
    inside = (grid >= xs[0]) & (grid <= xs[-1])
    at = grid[inside]
    right = np.searchsorted(xs, at)  # xs[right] >= at.
    exact = xs[right] == at
    left = np.maximum(right - 1, 0)  # Used only where at is not exact.
    span = np.where(exact, 1.0, xs[right] - xs[left])
    weight = (at - xs[left]) / span
    between = values[left] + weight * (values[right] - values[left])
    result[inside] = np.where(exact, values[right], between)
    return result


def runs_table(curves: Sequence[RunCurve]) -> Tuple[np.ndarray, np.ndarray]:
    """Several runs on the union of their x values.

    Args:
        curves: ``(xs, values)`` per run, as read_curve returns.

    Returns:
        ``(grid [T], table [runs, T])``: the x values where at least one
        run has a finite value, and each run's value there (see on_grid;
        NaN where it has none).
    """
    grid = np.unique(np.concatenate([xs for xs, _ in curves]))
    table = np.stack([on_grid(xs, values, grid) for xs, values in curves])
    keep = np.isfinite(table).any(axis=0)
    return grid[keep], table[:, keep]


def column_statistic(table: np.ndarray, statistic: str) -> np.ndarray:
    """The statistic of each column over its finite entries.

    Args:
        table: ``[runs, T]``, NaN where a run has no value; every column
            has a finite entry.
        statistic: 'mean', 'iqm' or 'median'.

    Returns:
        ``[T]`` statistics.
    """
    finite = np.isfinite(table)
    if statistic == 'mean':
        return np.where(finite, table, 0.0).sum(axis=0) / finite.sum(axis=0)
    function = aggregation.STATISTICS[statistic]
    return np.array([function(column[ok][:, None])
                     for column, ok in zip(table.T, finite.T)], np.float64)


def band(table: np.ndarray, point: np.ndarray, spread: str,
         statistic: str = 'mean', confidence: float = 0.95,
         reps: int = 2000, seed: Optional[int] = 0
         ) -> Tuple[np.ndarray, np.ndarray]:
    """The shaded band of each column of a ``[runs, T]`` table.

    Args:
        table: ``[runs, T]``, NaN where a run has no value.
        point: ``[T]`` the statistic of each column.
        spread: 'minmax' (lowest to highest run), 'std' (point +- the
            runs' standard deviation), 'none' (the point) or 'ci' (the
            statistic's stratified-bootstrap percentile interval).
        statistic, confidence, reps, seed: Of the 'ci' interval (see
            aggregation.interval_estimate).

    Returns:
        ``(low [T], high [T])``.
    """
    finite = np.isfinite(table)
    if spread == 'minmax':
        return (np.where(finite, table, np.inf).min(axis=0),
                np.where(finite, table, -np.inf).max(axis=0))
    if spread == 'std':
        deviation = np.sqrt(np.where(finite, (table - point) ** 2, 0.0)
                            .sum(axis=0) / finite.sum(axis=0))
        return point - deviation, point + deviation
    if spread == 'ci':
        estimates = aggregation.curve_estimates(table, statistic, confidence,
                                                reps, seed)
        return estimates[:, 1], estimates[:, 2]
    return point, point


def aggregate(label: str, run_dirs: Sequence[str],
              curves: Sequence[RunCurve], spread: Optional[str] = None,
              statistic: str = 'mean', confidence: float = 0.95,
              reps: int = 2000, seed: Optional[int] = 0) -> Curve:
    """The statistic and band of several runs' curves, x by x.

    Args:
        label: The curve's label.
        run_dirs: The runs, as in curves.
        curves: ``(xs, values)`` per run, as read_curve returns.
        spread: 'minmax', 'std', 'none' or 'ci' (see band); None for the
            statistic's default (see default_spread).
        statistic: 'mean', 'iqm' or 'median'.
        confidence, reps, seed: Of the bootstrap interval (spread 'ci').

    Returns:
        The Curve over the union of the runs' x values where at least one
        run has a finite value; each x aggregates only the runs that have
        a value there (see runs_table).

    Raises:
        PlotError: an option is not allowed (see check_options).
    """
    spread = check_options(statistic, spread, confidence, reps)
    xs, table = runs_table(curves)
    point = column_statistic(table, statistic)
    low, high = band(table, point, spread, statistic, confidence, reps, seed)
    return Curve(label, tuple(sorted(run_dirs)), xs, point, low, high,
                 np.isfinite(table).sum(axis=0), statistic)


def estimates_at(curves: Sequence[RunCurve], at: Sequence[float],
                 statistic: str = 'iqm', confidence: float = 0.95,
                 reps: int = 2000, seed: Optional[int] = 0
                 ) -> List[Optional[aggregation.Estimate]]:
    """The statistic and its bootstrap interval over runs at given x values.

    Args:
        curves: ``(xs, values)`` per run.
        at: x values.
        statistic, confidence, reps, seed: See aggregation.interval_estimate.

    Returns:
        One Estimate per x value, over the runs that have a finite value
        there (see on_grid), or None where no run has.
    """
    grid = np.asarray(at, np.float64)
    order = np.argsort(grid)
    table = np.full((len(curves), len(grid)), np.nan)
    for row, (xs, values) in zip(table, curves):
        row[order] = on_grid(xs, values, grid[order])
    estimates = []
    for column in table.T:
        scores = column[np.isfinite(column)]
        estimates.append(aggregation.interval_estimate(
            scores, statistic, confidence, reps, seed) if len(scores) else None)
    return estimates
