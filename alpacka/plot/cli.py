"""The command line, and the library calls it is made of."""

import argparse
import sys
from typing import Dict, List, Optional, Sequence

from alpacka.plot.aggregating import (MAX_BOOTSTRAP_REPS, SPREADS, STATISTICS,
                                      Curve, aggregate, check_options)
from alpacka.plot.drawing import check_output, draw
from alpacka.plot.errors import PlotError
from alpacka.plot.runs import EPOCH, RunCurve, read_groups
from alpacka.plot.table import check_at, format_table


def _aggregate_groups(groups: Dict[str, Dict[str, RunCurve]],
                      spread: Optional[str], statistic: str,
                      confidence: float, reps: int,
                      seed: Optional[int]) -> List[Curve]:
    return [aggregate(label, list(runs), list(runs.values()), spread,
                      statistic, confidence, reps, seed)
            for label, runs in groups.items()]


def learning_curves(paths: Sequence[str], metric: str,
                    group_by: Optional[str] = None,
                    spread: Optional[str] = None, statistic: str = 'mean',
                    x: str = EPOCH, confidence: float = 0.95,
                    reps: int = 2000, seed: Optional[int] = 0
                    ) -> List[Curve]:
    """The curves that plot_learning_curves draws, without drawing them.

    Args:
        paths: Run or sweep directories (see find_runs).
        metric: Metric name.
        group_by: Gin binding to group runs by (None: one curve per run).
        spread: 'minmax', 'std', 'none' or 'ci'; None: 'minmax' for the
            mean, 'ci' for the IQM and the median.
        statistic: 'mean', 'iqm' or 'median' across a group's runs.
        x: 'epoch', 'env_steps' (``counters/env_steps``) or a metric name.
        confidence, reps, seed: Of the bootstrap interval (spread 'ci').

    Returns:
        One Curve per group, in group order.

    Raises:
        PlotError: A bad option, no runs, or no run logged the metric or
            the x metric (the message lists the closest names logged).
    """
    check_options(statistic, spread, confidence, reps)
    groups = read_groups(paths, metric, group_by, x)
    return _aggregate_groups(groups, spread, statistic, confidence, reps,
                             seed)


def plot_learning_curves(paths: Sequence[str], metric: str, output: str,
                         group_by: Optional[str] = None,
                         spread: Optional[str] = None,
                         statistic: str = 'mean', x: str = EPOCH,
                         confidence: float = 0.95, reps: int = 2000,
                         seed: Optional[int] = 0) -> List[Curve]:
    """Reads the runs' curves and writes them as an image.

    Args:
        paths: Run or sweep directories (see find_runs).
        metric: Metric name, e.g. ``episode/return_mean``.
        output: The image's path.
        group_by, spread, statistic, x, confidence, reps, seed: See
            learning_curves.

    Returns:
        The plotted curves (see learning_curves).

    Raises:
        PlotError: see check_output, learning_curves and draw.
    """
    output = check_output(output)
    spread = check_options(statistic, spread, confidence, reps)
    curves = learning_curves(paths, metric, group_by, spread, statistic, x,
                             confidence, reps, seed)
    draw(curves, metric, output, group_by, spread, statistic, x, confidence)
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
                             'group\'s statistic and spread.')
    parser.add_argument('--aggregate', default='mean', choices=STATISTICS,
                        help='Statistic across a group\'s runs at every x: '
                             'the mean, the interquartile mean or the median '
                             '(default: %(default)s).')
    parser.add_argument('--spread', default=None, choices=SPREADS,
                        help='Shaded band across a group\'s runs: min to '
                             'max, +-1 standard deviation, none, or the '
                             'statistic\'s stratified-bootstrap confidence '
                             'interval (default: minmax for the mean, ci for '
                             'iqm and median).')
    parser.add_argument('--x', default=EPOCH, metavar='{epoch,env_steps,METRIC}',
                        help='The x axis: the Runner\'s epoch, env steps '
                             '(counters/env_steps), or any metric logged '
                             'every epoch; runs are interpolated onto the '
                             'union of their x values (default: '
                             '%(default)s).')
    parser.add_argument('--confidence', default=0.95, type=float,
                        help='Coverage of the bootstrap interval, in (0, 1) '
                             '(default: %(default)s).')
    parser.add_argument('--bootstrap_reps', default=2000, type=int,
                        help=f'Bootstrap resamples per point, 1 to '
                             f'{MAX_BOOTSTRAP_REPS} (default: %(default)s; '
                             f'seeded, so a figure is reproducible).')
    parser.add_argument('--at', nargs='+', type=float, default=None,
                        metavar='X',
                        help='Also print a Markdown table: each group\'s '
                             'statistic and bootstrap interval at these x '
                             'values, with the number of runs.')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit code (2 for a problem with the input)."""
    args = parse_args(argv)
    try:
        output = check_output(args.output)
        spread = check_options(args.aggregate, args.spread, args.confidence,
                               args.bootstrap_reps)
        check_at(args.at)
        groups = read_groups(args.output_dirs, args.metric, args.group_by,
                             args.x)
        curves = _aggregate_groups(groups, spread, args.aggregate,
                                   args.confidence, args.bootstrap_reps, 0)
        draw(curves, args.metric, output, args.group_by, spread,
             args.aggregate, args.x, args.confidence)
    except PlotError as error:
        print(f'alpacka.plot: error: {error}', file=sys.stderr)
        return 2
    n_runs = sum(len(curve.runs) for curve in curves)
    print(f'Wrote {output}: {args.metric} of {n_runs} runs in '
          f'{len(curves)} curves.')
    if args.at:
        print(format_table(groups, args.at, args.metric, args.x,
                           args.group_by, args.aggregate, args.confidence,
                           args.bootstrap_reps, 0))
    return 0
