"""The Runner's per-epoch summaries (runner/epoch_metrics.py)."""

import types

import pytest

from alpacka import data
from alpacka.runner import epoch_metrics


def _episode(length, return_, solved=None, truncated=False):
    # Only the rewards' length matters to the summaries.
    transitions = types.SimpleNamespace(reward=[0.0] * length)
    return data.Episode(transitions, return_, solved, truncated)


def test_episode_metrics_summarise_returns_lengths_and_flags():
    metrics = epoch_metrics.episode_metrics([
        _episode(10, 1.0, solved=True), _episode(20, 4.0, solved=False,
                                                 truncated=True),
        _episode(30, 10.0, truncated=True)])
    assert metrics == pytest.approx({
        'return_mean': 5.0, 'return_median': 4.0, 'return_max': 10.0,
        'return_min': 1.0, 'length_mean': 20.0, 'count': 3.0,
        'truncated_rate': 2 / 3,
        # Over the episodes whose env has a notion of success.
        'solved_rate': 0.5})
    assert all(type(value) is float for value in metrics.values())  # pylint: disable=unidiomatic-typecheck


def test_no_solved_rate_without_a_notion_of_success():
    assert 'solved_rate' not in epoch_metrics.episode_metrics(
        [_episode(5, 1.0)])
