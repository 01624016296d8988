"""alpacka.plot --aggregate iqm/median and --x: the curves against values
computed by hand on small tables of runs written by the JSONL logger."""

import numpy as np
import pytest

from run_files import ENV_STEPS, METRIC, write_run

from alpacka import plot
from alpacka.metric_logging import aggregation

# 8 runs (seeds) of one setting: returns at epochs 0, 1, 2; the last two
# runs stop after epoch 1.
EPOCH_0 = [0.0, 1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 1000.0]
EPOCH_1 = [2 * value for value in EPOCH_0]
EPOCH_2 = [100.0, 101.0, 102.0, 103.0, 110.0, 120.0]
# By hand: 8 runs drop int(0.25 * 8) = 2 at each end, 6 runs drop 1.
IQM = [(2 + 3 + 10 + 20) / 4, (4 + 6 + 20 + 40) / 4, (101 + 102 + 103 + 110) / 4]
MEDIAN = [(3 + 10) / 2, (6 + 20) / 2, (102 + 103) / 2]


@pytest.fixture(name='seeds')
def fixture_seeds(tmp_path):
    """A sweep of 8 seeds of n_rollouts=8, env steps 1000 per epoch."""
    for seed in range(8):
        returns = [EPOCH_0[seed], EPOCH_1[seed]] + (
            [EPOCH_2[seed]] if seed < 6 else [])
        write_run(tmp_path / 'seeds' / f'seed_{seed}',
                  {METRIC: returns,
                   ENV_STEPS: [1000.0 * (epoch + 1)
                               for epoch in range(len(returns))]},
                  {'ShootingAgent.n_rollouts': 8, 'Runner.seed': seed})
    return str(tmp_path / 'seeds')


@pytest.mark.parametrize('statistic,expected', [('iqm', IQM),
                                                ('median', MEDIAN)])
def test_iqm_and_median_of_eight_runs_with_their_intervals(seeds, statistic,
                                                           expected):
    curve, = plot.learning_curves([seeds], METRIC, group_by='n_rollouts',
                                  statistic=statistic)
    np.testing.assert_array_equal(curve.xs, [0, 1, 2])
    np.testing.assert_allclose(curve.point, expected)
    np.testing.assert_array_equal(curve.n_runs, [8, 8, 6])
    assert curve.statistic == statistic and len(curve.runs) == 8
    # The bootstrap interval (the default band of iqm and median) holds the
    # point and lies within the runs' range.
    assert np.all(curve.low <= curve.point) and np.all(curve.point <= curve.high)
    assert np.all(curve.low < curve.high)
    assert np.all(curve.low >= [0, 0, 100]) and np.all(curve.high <= [1000, 2000, 120])
    # Epoch 1 is epoch 0 doubled: the same seeded resamples, twice as wide.
    assert curve.high[1] - curve.low[1] == pytest.approx(
        2 * (curve.high[0] - curve.low[0]))
    # It is the interval of exactly the runs that have the epoch.
    estimate = aggregation.interval_estimate(EPOCH_2, statistic)
    assert (curve.low[2], curve.high[2]) == (estimate.low, estimate.high)


def test_intervals_are_seeded_and_follow_confidence_and_reps(seeds):
    def band(**options):
        curve, = plot.learning_curves([seeds], METRIC, group_by='n_rollouts',
                                      statistic='iqm', **options)
        return curve.low, curve.high
    first = band()
    np.testing.assert_array_equal(band()[0], first[0])  # Reproducible.
    narrow = band(confidence=0.5)
    assert np.all(narrow[0] >= first[0]) and np.all(narrow[1] <= first[1])
    assert np.any(narrow[1] - narrow[0] < first[1] - first[0])
    assert not np.array_equal(band(reps=500)[0], first[0])


def test_other_bands_around_the_iqm_and_a_ci_around_the_mean(seeds):
    minmax, = plot.learning_curves([seeds], METRIC, group_by='n_rollouts',
                                   statistic='iqm', spread='minmax')
    np.testing.assert_allclose(minmax.point, IQM)
    np.testing.assert_allclose(minmax.low, [0, 0, 100])
    np.testing.assert_allclose(minmax.high, [1000, 2000, 120])
    mean, = plot.learning_curves([seeds], METRIC, group_by='n_rollouts',
                                 spread='ci')
    np.testing.assert_allclose(mean.point, [np.mean(EPOCH_0), np.mean(EPOCH_1),
                                            np.mean(EPOCH_2)])
    assert np.all(mean.low <= mean.point) and np.all(mean.point <= mean.high)
    # The default band of the mean stays min to max.
    default, = plot.learning_curves([seeds], METRIC, group_by='n_rollouts')
    np.testing.assert_allclose(default.low, [0, 0, 100])


def _write_epoch_sizes(tmp_path):
    """Three runs with 100, 200 and 150 env steps per epoch."""
    sweep = tmp_path / 'sizes'
    for name, steps, returns in (('a', [100, 200, 300, 400], [1, 2, 3, 4]),
                                 ('b', [200, 400], [10, 30]),
                                 ('c', [150, 300, 450], [0, 3, 6])):
        write_run(sweep / name, {METRIC: [float(r) for r in returns],
                                 ENV_STEPS: [float(s) for s in steps]},
                  {'Runner.n_envs': 2})
    return str(sweep)


def test_runs_of_different_epoch_sizes_share_the_union_of_env_steps(tmp_path):
    sweep = _write_epoch_sizes(tmp_path)
    curve, = plot.learning_curves([sweep], METRIC, group_by='Runner.n_envs',
                                  x='env_steps')
    np.testing.assert_array_equal(curve.xs, [100, 150, 200, 300, 400, 450])
    # By hand: a at 150 is 1.5; b at 300 is 20, c at 200 is 1 and at 400
    # is 5; none is extrapolated (only a at 100, only c at 450).
    np.testing.assert_array_equal(curve.n_runs, [1, 2, 3, 3, 3, 1])
    np.testing.assert_allclose(curve.point, [1, (1.5 + 0) / 2, (2 + 10 + 1) / 3,
                                             (3 + 20 + 3) / 3, (4 + 30 + 5) / 3,
                                             6])
    np.testing.assert_allclose(curve.low, [1, 0, 1, 3, 4, 6])
    np.testing.assert_allclose(curve.high, [1, 1.5, 10, 20, 30, 6])
    # The same runs by their full metric name, and against epochs.
    named, = plot.learning_curves([sweep], METRIC, group_by='n_envs',
                                  x=ENV_STEPS)
    np.testing.assert_array_equal(named.point, curve.point)
    by_epoch, = plot.learning_curves([sweep], METRIC, group_by='n_envs')
    np.testing.assert_allclose(by_epoch.point, [11 / 3, 35 / 3, 9 / 2, 4])


def test_on_grid_interpolates_inside_the_range_only():
    grid = np.array([0.0, 10, 15, 20, 25, 30, 40])
    values = plot.on_grid(np.array([10, 20, 30]), np.array([1.0, np.nan, 5.0]),
                          grid)
    # A NaN point leaves the run out on both of its sides.
    np.testing.assert_array_equal(values, [np.nan, 1, np.nan, np.nan, np.nan,
                                           5, np.nan])
    # Epochs with one x value (no env steps between them): the last wins.
    values = plot.on_grid(np.array([10.0, 20, 20, 30]),
                          np.array([0.0, 7, 2, 4]), grid)
    np.testing.assert_allclose(values, [np.nan, 0, 1, 2, 3, 4, np.nan])


def test_read_curve_places_epochs_at_the_x_metric(tmp_path):
    run = write_run(tmp_path / 'run', {METRIC: [1.0, 2.0, None, 4.0, 5.0],
                                       ENV_STEPS: [10.0, None, 30.0, 40.0,
                                                   float('nan')]})
    xs, values = plot.read_curve(run, METRIC, ENV_STEPS)
    # Epoch 1 has no x, epoch 2 no value, epoch 4 a non-finite x.
    np.testing.assert_array_equal(xs, [10.0, 40.0])
    np.testing.assert_array_equal(values, [1.0, 4.0])
    epochs, values = plot.read_curve(run, METRIC)
    np.testing.assert_array_equal(epochs, [0, 1, 3, 4])
    assert epochs.dtype == np.int64


def test_a_run_without_the_x_metric_is_left_out_with_a_note(tmp_path, capsys):
    sweep = _write_epoch_sizes(tmp_path)
    write_run(tmp_path / 'sizes' / 'd', {METRIC: [100.0, 200.0]},
              {'Runner.n_envs': 2})
    curve, = plot.learning_curves([sweep], METRIC, group_by='n_envs',
                                  x='env_steps')
    assert len(curve.runs) == 3 and curve.point[0] == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert f"{tmp_path / 'sizes' / 'd'} has no '{ENV_STEPS}' (--x)" in err


def test_no_run_with_the_x_metric_names_close_metrics(tmp_path):
    sweep = _write_epoch_sizes(tmp_path)
    with pytest.raises(plot.PlotError, match=(
            r"No run logged the x metric \(--x\) 'counters/env_step' "
            r"\(3 runs read\)\. Close names: counters/env_steps")):
        plot.learning_curves([sweep], METRIC, x='counters/env_step')


def test_captions_say_what_is_drawn(seeds):
    curves = plot.learning_curves([seeds], METRIC, group_by='n_rollouts',
                                  statistic='iqm')
    assert plot.caption(curves, 'ci', 'iqm') == (
        'IQM over 8 runs, shaded 95% bootstrap CI')
    assert plot.caption(curves, 'ci', 'median', 0.9) == (
        'median over 8 runs, shaded 90% bootstrap CI')
    # The mean's captions stay as they were.
    assert plot.caption(curves, 'minmax') == 'mean over runs, shaded min to max'
    assert plot.caption(curves, 'none') == 'mean over runs'
