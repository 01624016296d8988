"""Tests of alpacka.metric_logging.aggregation against hand-computed values
and against rliable, the reference implementation."""

import itertools

import numpy as np
import pytest

from alpacka.metric_logging import aggregation


def test_iqm_drops_a_quarter_at_each_end():
    # 8 scores: int(0.25 * 8) = 2 dropped at each end -> mean of 2, 3, 4, 5.
    scores = np.array([-1000.0, 1, 3, 4, 5, 100, 2000, 2])
    assert aggregation.iqm(scores[:, None]) == pytest.approx(
        (2 + 3 + 4 + 5) / 4)


def test_iqm_of_ten_runs_keeps_the_middle_six():
    scores = np.arange(10.0)[::-1]  # int(2.5) = 2 dropped at each end.
    assert aggregation.iqm(scores[:, None]) == pytest.approx(4.5)
    assert aggregation.mean(scores[:, None]) == pytest.approx(4.5)
    skewed = np.array([0, 0, 1, 2, 3, 4, 5, 6, 1000, 1000.0])
    assert aggregation.iqm(skewed[:, None]) == pytest.approx(
        (1 + 2 + 3 + 4 + 5 + 6) / 6)
    assert aggregation.mean(skewed[:, None]) == pytest.approx(202.1)
    assert aggregation.median(skewed[:, None]) == pytest.approx(3.5)


def test_iqm_pools_tasks_and_keeps_leading_axes():
    table = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0], [3.0, 13.0]])
    # 8 scores pooled: drop 0, 1 and 12, 13 -> mean of 2, 3, 10, 11.
    assert aggregation.iqm(table) == pytest.approx(6.5)
    stacked = np.stack([table, table + 1])  # [2, runs, tasks]
    np.testing.assert_allclose(aggregation.iqm(stacked), [6.5, 7.5])


def test_iqm_of_fewer_than_four_runs_is_the_mean():
    assert aggregation.iqm(np.array([[1.0], [2.0], [6.0]])) == pytest.approx(3)


def test_bootstrap_interval_of_two_runs_matches_the_enumerated_distribution():
    # Resamples of (a, b): (a, a), (a, b), (b, a), (b, b), each 1/4: the
    # bootstrap means are a, (a + b) / 2 twice and b, so the 95% percentile
    # interval is [a, b] and a 40% one lies strictly inside.
    estimate = aggregation.interval_estimate(np.array([-3.0, 5.0]), 'mean',
                                             reps=4000, seed=1)
    assert estimate.point == pytest.approx(1.0)
    assert (estimate.low, estimate.high) == (pytest.approx(-3.0),
                                             pytest.approx(5.0))
    assert estimate.n_runs == 2
    narrow = aggregation.interval_estimate(np.array([-3.0, 5.0]), 'mean',
                                           confidence=0.4, reps=4000, seed=1)
    assert (narrow.low, narrow.high) == (pytest.approx(1.0),
                                         pytest.approx(1.0))


def test_bootstrap_samples_resample_each_task_within_its_own_runs():
    scores = np.array([[0.0, 100.0], [1.0, 101.0], [2.0, 102.0]])
    samples = aggregation.bootstrap_samples(scores, 500,
                                            np.random.default_rng(0))
    assert samples.shape == (500, 3, 2)
    assert set(np.unique(samples[:, :, 0])) == {0.0, 1.0, 2.0}
    assert set(np.unique(samples[:, :, 1])) == {100.0, 101.0, 102.0}
    # Drawn with replacement: some resample repeats a run.
    assert any(len(set(sample)) < 3 for sample in samples[:, :, 0])


def test_interval_of_a_constant_is_a_point_and_seeded_intervals_repeat():
    assert tuple(aggregation.interval_estimate(np.full(7, 2.5))[:3]) == (
        2.5, 2.5, 2.5)
    scores = np.random.default_rng(3).normal(size=10)
    first = aggregation.interval_estimate(scores, seed=7)
    assert aggregation.interval_estimate(scores, seed=7) == first
    assert aggregation.interval_estimate(scores, seed=8) != first
    assert first.low < first.point < first.high


def test_exact_bootstrap_of_three_runs_iqm():
    # With 3 runs the IQM is the mean; enumerate all 27 resamples.
    scores = np.array([0.0, 3.0, 9.0])
    means = sorted(np.mean(sample) for sample in
                   itertools.product(scores, repeat=3))
    estimate = aggregation.interval_estimate(scores, 'iqm', confidence=0.5,
                                             reps=200_000, seed=0)
    expected = np.percentile(means, [25, 75])
    # Only Monte Carlo error separates the two: 27 equally likely values.
    assert estimate.low == pytest.approx(expected[0], abs=0.5)
    assert estimate.high == pytest.approx(expected[1], abs=0.5)


# Not 'median': rliable's aggregate_median is the median over tasks of the
# per-task means; ours is the median of the runs' scores.
@pytest.mark.parametrize('statistic', ['iqm', 'mean'])
# arch, under rliable, warns about its own RandomState argument.
@pytest.mark.filterwarnings('ignore::FutureWarning')
def test_intervals_agree_with_rliable(statistic):
    rliable_library = pytest.importorskip('rliable.library')
    rliable_metrics = pytest.importorskip('rliable.metrics')
    functions = {'iqm': rliable_metrics.aggregate_iqm,
                 'mean': rliable_metrics.aggregate_mean}
    scores = np.random.default_rng(5).normal(size=(10, 2)) * [1.0, 30.0]
    points, intervals = rliable_library.get_interval_estimates(
        {'run': scores}, lambda x: np.array([functions[statistic](x)]),
        reps=10_000,
        random_state=np.random.RandomState(0))  # pylint: disable=no-member
    ours = aggregation.interval_estimate(scores, statistic, reps=10_000)
    assert ours.point == pytest.approx(points['run'][0])
    width = ours.high - ours.low
    # Independent Monte Carlo draws: the ends agree to a few % of the width.
    assert ours.low == pytest.approx(intervals['run'][0, 0], abs=0.06 * width)
    assert ours.high == pytest.approx(intervals['run'][1, 0], abs=0.06 * width)


def test_curve_estimates_skip_missing_runs_and_thin_columns():
    table = np.array([[1.0, 2.0, np.nan],
                      [3.0, np.nan, np.nan],
                      [5.0, 4.0, 7.0]])
    result = aggregation.curve_estimates(table, 'mean', min_runs=2)
    assert result.shape == (3, 3)
    assert result[0, 0] == pytest.approx(3.0)
    assert result[1, 0] == pytest.approx(3.0)  # Over runs 0 and 2 only.
    assert np.all(np.isnan(result[2]))  # One run: below min_runs.
    assert result[0, 1] <= 3.0 <= result[0, 2]


@pytest.mark.parametrize('bad, message', [
    (np.array([]), 'not empty'),
    (np.array([1.0, np.nan]), 'finite'),
])
def test_bad_scores_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        aggregation.interval_estimate(bad)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='statistic must be one of'):
        aggregation.interval_estimate(np.ones(3), 'trimmed')
    with pytest.raises(ValueError, match='confidence'):
        aggregation.interval_estimate(np.ones(3), confidence=1.0)


def test_estimates_know_when_intervals_overlap():
    low = aggregation.Estimate(1.0, 0.0, 2.0, 10)
    assert low.overlaps(aggregation.Estimate(3.0, 2.0, 4.0, 10))
    assert not low.overlaps(aggregation.Estimate(3.5, 2.5, 4.0, 10))
    assert str(low) == '1.0 [0.0, 2.0]'
