"""Learning curves of runs: ``python3 -m alpacka.plot OUTPUT_DIR ... --metric NAME``.

Reads each run's ``metrics.jsonl`` and writes one PNG. An OUTPUT_DIR that
holds no metrics.jsonl is searched for runs below it (a sweep directory).
With ``--group_by Selector.param`` runs are grouped by that binding in their
``config.gin`` (e.g. seeds of one setting) and each group is drawn as one
statistic across its runs at every x (``--aggregate``): the mean (the
default), the interquartile mean (``iqm``) or the median, with a band
shaded (``--spread``): min to max (the mean's default), mean +- one
standard deviation (``std``), none, or the statistic's stratified-bootstrap
confidence interval (``ci``, the default of iqm and median; ``--confidence``,
``--bootstrap_reps``, seeded). Without it every run is its own curve.

The x axis (``--x``) is the Runner's step, the epoch, by default;
``--x env_steps`` places each epoch's point at its ``counters/env_steps``
(any other metric logged every epoch works too), so runs with different
epoch sizes share one figure: within a group, each run is interpolated
linearly onto the union of the runs' x values, inside its own range only.
``--at X ...`` also prints a Markdown table of each group's statistic and
interval at those x values.

    python3 -m alpacka.plot sweeps/sac --metric eval_episode/return_mean \\
        --group_by Runner.agent_class --aggregate iqm --x env_steps \\
        --at 2000 3000 --output sac.png

Modules, one job each: runs (finding, reading and grouping runs),
aggregating (a group's runs as one curve), drawing (the image), table (the
--at table), cli (the command line).
"""

from alpacka.plot.aggregating import (SPREADS, STATISTICS, Curve, aggregate,
                                      estimates_at, on_grid, runs_table)
from alpacka.plot.cli import (learning_curves, main, parse_args,
                              plot_learning_curves)
from alpacka.plot.drawing import caption, check_output, draw
from alpacka.plot.errors import PlotError
from alpacka.plot.runs import (find_runs, group_runs, metric_names,
                               read_curve, read_groups, run_parameter)
from alpacka.plot.table import format_table

__all__ = ['Curve', 'PlotError', 'SPREADS', 'STATISTICS', 'aggregate',
           'caption', 'check_output', 'draw', 'estimates_at', 'find_runs',
           'format_table', 'group_runs', 'learning_curves', 'main',
           'metric_names', 'on_grid', 'parse_args', 'plot_learning_curves',
           'read_curve', 'read_groups', 'run_parameter', 'runs_table']
