"""alpacka.utils.schedules: functions of the epoch that anneal agent attributes."""

import gin
import pytest

from alpacka.utils import schedules


def test_linear_annealing_moves_from_max_to_min_then_stays():
    schedule = schedules.LinearAnnealing(max_value=1.0, min_value=0.2,
                                         n_epochs=4)
    assert [schedule(epoch) for epoch in range(6)] == pytest.approx(
        [1.0, 0.8, 0.6, 0.4, 0.2, 0.2])


def test_linear_annealing_needs_a_positive_length():
    with pytest.raises(ValueError, match=r'LinearAnnealing.n_epochs = 0 .*>= 1'):
        schedules.LinearAnnealing(max_value=1.0, min_value=0.0, n_epochs=0)


def test_rsqrt_decay_halves_at_three_scales_and_stops_at_the_floor():
    schedule = schedules.RsqrtDecay(max_value=2.0, min_value=0.5, scale=10)
    assert schedule(0) == 2.0
    assert schedule(30) == pytest.approx(1.0)
    assert schedule(10_000) == 0.5


def test_schedules_are_gin_configurable_under_their_module():
    gin.parse_config("""
        decay/alpacka.utils.schedules.RsqrtDecay.max_value = 4.0
        decay/alpacka.utils.schedules.RsqrtDecay.scale = 1.0
    """)
    with gin.config_scope('decay'):
        schedule = schedules.RsqrtDecay()  # pylint: disable=no-value-for-parameter
    assert schedule(3) == pytest.approx(2.0)
