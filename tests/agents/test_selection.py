"""Tests for alpacka.agents.selection: each rule on small hand-computed cases."""

import math

import numpy as np
import pytest

from alpacka.agents import selection


class _Child:
    """A child's statistics as the rules read them (hashed by identity)."""

    def __init__(self, value, count):
        self.value = value
        self.count = count


def _children(*value_counts):
    return [_Child(value, count) for value, count in value_counts]


# -- Q normalisation. ---------------------------------------------------------

def test_minmax_q_scale_is_the_spread_or_one():
    assert selection.minmax_q_scale(-1.0, 3.0) == 4.0
    assert selection.minmax_q_scale(2.0, 2.0) == 1.0
    assert selection.minmax_q_scale(math.inf, -math.inf) == 1.0  # Nothing seen.
    assert selection.IDENTITY_Q_SCALE == 1.0


# -- PUCT. --------------------------------------------------------------------

def test_puct_on_a_hand_computed_case():
    # Q = r + discount * V = (0.5, 0.3); n = 1 + count = (4, 1); N = 4, so
    # sqrt(N) = 2.
    children = _children((0.5, 3), (0.2, 0))
    rewards, prior = [0.0, 0.1], [0.3, 0.7]

    def choice(c, discount=1.0, q_scale=selection.IDENTITY_Q_SCALE):
        return selection.select_child(children, 4, c, q_scale, prior,
                                      rewards, discount)

    # c = 1: 0.5 + 2 * 0.3 / 4 = 0.65 < 0.3 + 2 * 0.7 / 1 = 1.7.
    assert choice(1.0) == 1
    # c = 0.1: 0.5 + 0.015 = 0.515 > 0.3 + 0.14 = 0.44.
    assert choice(0.1) == 0
    # The discount applies to V: at discount 0.5, Q = (0.25, 0.2) and
    # 0.25 + 0.015 = 0.265 < 0.2 + 0.14 = 0.34.
    assert choice(0.1, discount=0.5) == 1
    # On a Q scale of 0.1 (Q' = Q / 0.1), c = 1 acts like c = 0.1 above.
    assert choice(1.0, q_scale=0.1) == 0


def test_rules_on_the_minmax_scale_match_the_normalised_formulas():
    # argmax Q + c * spread * bonus == argmax (Q - q_min) / spread + c * bonus.
    rng = np.random.default_rng(0)
    for _ in range(200):
        n_actions = int(rng.integers(2, 5))
        values = rng.normal(size=n_actions) * 10
        counts = rng.integers(0, 6, size=n_actions)
        prior = rng.dirichlet(np.ones(n_actions))
        parent_visits = int(counts.sum()) + 1
        q_min, q_max = values.min() - 1.0, values.max() + 2.0
        q_scale = selection.minmax_q_scale(q_min, q_max)
        c = float(rng.uniform(0.1, 3.0))
        children = _children(*zip(values.tolist(), counts.tolist()))
        normalised = (values - q_min) / q_scale
        visits = 1 + counts
        puct = normalised + c * prior * math.sqrt(parent_visits) / visits
        assert selection.select_child(children, parent_visits, c, q_scale,
                                      prior.tolist()) == int(np.argmax(puct))
        uct = normalised + c * np.sqrt(math.log(parent_visits) / visits)
        assert selection.select_child(children, parent_visits, c,
                                      q_scale) == int(np.argmax(uct))


# -- UCT. ---------------------------------------------------------------------

def test_uct_on_a_hand_computed_case():
    # Q = (1, 0), n = (4, 1), N = 5: sqrt(ln 5) = 1.269.
    children = _children((1.0, 3), (0.0, 0))
    # c = 1: 1 + 1.269 / 2 = 1.634 > 0 + 1.269.
    assert selection.select_child(children, 5, 1.0) == 0
    # c = 2: 1 + 1.269 = 2.269 < 2.537.
    assert selection.select_child(children, 5, 2.0) == 1
    # One visit or none: ln N <= 0, no exploration term: the best Q.
    assert selection.select_child(children, 1, 100.0) == 0
    assert selection.select_child(children, 0, 100.0) == 0


def test_chance_nodes_are_read_without_rewards():
    # Without rewards Q(a) is the child's own value (a chance node's mean).
    children = _children((0.2, 0), (0.9, 0))
    assert selection.quality(children[1]) == 0.9
    assert selection.quality(children[1], reward=1.0, discount=0.5) == 1.45
    assert selection.select_child(children, 2, 0.0) == 1
    assert selection.select_child(children, 2, 0.0, prior=[0.5, 0.5]) == 1


def test_ties_go_to_the_lowest_index_and_exclusions_are_skipped():
    children = _children((0.5, 1), (0.5, 1), (0.5, 1))
    thirds = [1 / 3] * 3
    assert selection.select_child(children, 3, 1.0) == 0
    assert selection.select_child(children, 3, 1.0, prior=thirds) == 0
    excluded = {children[0]}
    assert selection.select_child(children, 3, 1.0, excluded=excluded) == 1
    assert selection.select_child(children, 3, 1.0, prior=thirds,
                                  excluded=excluded) == 1
    assert selection.select_child(children, 3, 1.0,
                                  excluded=set(children)) is None


# -- The final action: tie-break and temperature. -----------------------------

def test_argmax_breaks_ties_by_q_then_at_random():
    rng = np.random.default_rng(0)
    assert selection.argmax_tie_break(np.array([3.0, 5.0, 5.0]),
                                      np.array([9.0, 1.0, 2.0]), rng) == 2
    draws = [selection.argmax_tie_break(np.array([1.0, 5.0, 5.0]),
                                        np.array([0.0, 1.0, 1.0]), rng)
             for _ in range(1000)]
    assert set(draws) == {1, 2}
    assert abs(np.mean(draws) - 1.5) < 0.05
    # No draw without a tie: the generator is left alone.
    state = rng.bit_generator.state
    selection.argmax_tie_break(np.array([1.0, 2.0]), np.zeros(2), rng)
    assert rng.bit_generator.state == state


def test_temperature_zero_is_the_argmax_with_the_tie_break():
    rng = np.random.default_rng(0)
    visits, qualities = np.array([2.0, 7.0, 7.0]), np.array([5.0, 0.1, 0.2])
    assert {selection.choose_action(visits, qualities, 0, rng)
            for _ in range(50)} == {2}


def test_temperature_probabilities_on_a_hand_computed_case():
    visits = np.array([1.0, 3.0])
    np.testing.assert_allclose(
        selection.temperature_probabilities(visits, 1.0), [0.25, 0.75])
    # T = 0.5 squares the counts: 1 : 9.
    np.testing.assert_allclose(
        selection.temperature_probabilities(visits, 0.5), [0.1, 0.9])
    # Unvisited actions are never drawn; tiny T stays finite.
    np.testing.assert_allclose(
        selection.temperature_probabilities(np.array([0.0, 2.0, 4.0]), 0.01),
        [0.0, 0.0, 1.0], atol=1e-12)


@pytest.mark.parametrize('temperature', [1.0, 0.5, 4.0])
def test_temperature_sampling_frequencies(temperature):
    rng = np.random.default_rng(1)
    visits = np.array([1.0, 2.0, 5.0])
    n_draws = 20000
    counts = np.bincount([selection.choose_action(visits, np.zeros(3),
                                                  temperature, rng)
                          for _ in range(n_draws)], minlength=3)
    expected = visits ** (1 / temperature) / np.sum(
        visits ** (1 / temperature))
    np.testing.assert_allclose(counts / n_draws, expected, atol=0.015)


# -- Gumbel at the root. ------------------------------------------------------

def test_gumbel_final_action_is_the_best_scored_finalist():
    scores = np.array([9.0, 1.0, 3.0, 3.0])
    assert selection.gumbel_final_action([1, 2, 3], scores) == 2
    assert selection.gumbel_final_action([3, 2], scores) == 3


def test_gumbel_top_k_samples_without_replacement():
    logits = np.log(np.array([0.5, 0.3, 0.2, 1e-9]))
    rng = np.random.default_rng(0)
    counts = np.zeros(4)
    for _ in range(2000):
        chosen = selection.gumbel_top_k(logits, rng.gumbel(size=4), 2)
        assert len(set(chosen)) == 2
        counts[chosen[0]] += 1
    np.testing.assert_allclose(counts / counts.sum(), [0.5, 0.3, 0.2, 0.0],
                               atol=0.04)
    assert selection.gumbel_top_k(np.array([0.0, -np.inf, 1.0]), np.zeros(3),
                               3) == [2, 0]


def test_sequential_halving_schedule():
    scores = np.array([0.0, 3.0, 1.0, 2.0])
    halving = selection.SequentialHalving([0, 1, 2, 3], 16, lambda: scores)
    schedule = list(halving)
    assert len(schedule) == 16
    # Phase 1: 2 visits to each of the 4; phase 2: 4 to each of the best 2.
    assert sorted(schedule[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert sorted(schedule[8:]) == [1] * 4 + [3] * 4
    assert halving.remaining == [1, 3]
    # A budget smaller than the considered actions visits the best-ranked.
    assert list(selection.SequentialHalving([2, 0, 1], 2, lambda: scores)) == [2, 0]


def test_completed_q_sigma_and_improved_policy():
    qualities = np.array([1.0, 5.0, 0.0])
    visits = np.array([2.0, 6.0, 0.0])
    completed = selection.completed_q(qualities, visits, value=3.0)
    np.testing.assert_array_equal(completed, [1.0, 5.0, 3.0])
    rescaled = selection.minmax_rescale(completed)
    np.testing.assert_allclose(rescaled, [0.0, 1.0, 0.5])
    sigma = selection.sigma(rescaled, visits, visit_offset=50, value_scale=0.1)
    np.testing.assert_allclose(sigma, [0.0, 5.6, 2.8])
    logits = np.log(np.array([0.5, 0.25, 0.25]))
    policy = selection.improved_policy(logits, sigma)
    expected = np.exp(logits + sigma) / np.exp(logits + sigma).sum()
    np.testing.assert_allclose(policy, expected)
    np.testing.assert_array_equal(selection.minmax_rescale(np.ones(3)), np.zeros(3))
    # Wider bounds (the search graph's) keep small differences small.
    np.testing.assert_allclose(selection.minmax_rescale(completed, -5.0, 15.0),
                               [0.3, 0.5, 0.4])
