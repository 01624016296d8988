"""Tests of alpacka.trainers.prioritized_replay, on hand-made data."""

import pickle

import numpy as np
import pytest

from alpacka import data
from alpacka import errors
from alpacka.trainers import prioritized_replay

SCALAR = data.TensorSignature(shape=(), dtype=np.int64)
NESTED = {
    'id': data.TensorSignature(shape=(), dtype=np.int64),
    'observation': data.TensorSignature(shape=(3,), dtype=np.float32),
}


def _nested(ids):
    ids = np.asarray(ids)
    return {'id': ids.astype(np.int64),
            'observation': np.repeat(ids[:, None], 3, axis=1).astype(np.float32)}


def _brute_force_find(priorities, prefix_sums):
    """The slot whose [cumsum before, cumsum after) interval holds each."""
    return np.searchsorted(np.cumsum(priorities), prefix_sums, side='right')


@pytest.mark.parametrize('capacity', [1, 2, 37, 64, 1000])
def test_sum_tree_total_find_and_min_match_brute_force(capacity):
    rng = np.random.default_rng(capacity)
    tree = prioritized_replay.SumTree(capacity)
    reference = np.zeros(capacity)
    # Small and large updates (the tree recomputes paths or rebuilds),
    # with repeated slots; integer priorities keep every sum exact, so
    # prefix sums placed on the boundaries must land exactly.
    for size in [1, 3, capacity // 2 + 1, 2 * capacity, 5]:
        slots = rng.integers(0, capacity, size)
        priorities = rng.integers(0, 6, size).astype(np.float64)
        tree.update(slots, priorities)
        for slot, priority in zip(slots, priorities):  # Last write wins.
            reference[slot] = priority
        assert tree.total == reference.sum()
        np.testing.assert_array_equal(tree.priorities(np.arange(capacity)),
                                      reference)
        positive = reference[reference > 0]
        assert tree.min_positive() == (positive.min() if positive.size
                                       else np.inf)
        if reference.sum() == 0:
            continue
        boundaries = np.cumsum(reference)[:-1]
        queries = np.concatenate([
            rng.random(2000) * reference.sum(), [0.0],
            boundaries[boundaries < reference.sum()]])
        found = tree.find(queries)
        np.testing.assert_array_equal(found,
                                      _brute_force_find(reference, queries))
        assert np.all(reference[found] > 0)
        # Rounding may push a prefix sum to the total: never a 0 leaf.
        assert reference[tree.find(np.array([reference.sum()]))[0]] > 0


def test_sum_tree_repeated_slots_take_the_last_write():
    tree = prioritized_replay.SumTree(8)
    tree.update(np.array([3, 5, 3, 3, 5]), np.array([1.0, 2.0, 7.0, 4.0, 0.5]))
    np.testing.assert_array_equal(tree.priorities(np.array([3, 5])), [4.0, 0.5])
    assert tree.total == 4.5
    assert tree.min_positive() == 0.5


def test_sum_tree_rejects_bad_priorities_and_slots():
    tree = prioritized_replay.SumTree(4)
    with pytest.raises(ValueError, match='non-negative'):
        tree.update(np.array([0]), np.array([np.nan]))
    with pytest.raises(IndexError, match=r'\[0, 4\)'):
        tree.update(np.array([4]), np.array([1.0]))


def test_sampling_frequencies_match_the_probabilities():
    alpha, epsilon = 0.6, 0.01
    buffer = prioritized_replay.PrioritizedReplayBuffer(
        SCALAR, capacity=10, priority_exponent=alpha, epsilon=epsilon, seed=0)
    buffer.add(np.arange(10))
    td_errors = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 3.0, 0.2, 5.0, 0.0, 10.0])
    buffer.update_priorities(np.arange(10), td_errors)
    scaled = (np.abs(td_errors) + epsilon) ** alpha
    expected = scaled / scaled.sum()
    n_batches, batch_size = 80, 256
    counts = np.zeros(10)
    for _ in range(n_batches):
        batch, slots, _ = buffer.sample(batch_size, importance_exponent=0.4)
        np.testing.assert_array_equal(batch, slots)  # Datapoint i sits at i.
        counts += np.bincount(batch, minlength=10)
    n = n_batches * batch_size
    # Stratification only lowers the variance below the multinomial one.
    tolerance = 4 * np.sqrt(expected * (1 - expected) / n)
    np.testing.assert_array_less(np.abs(counts / n - expected), tolerance)
    np.testing.assert_allclose(
        prioritized_replay.sampling_probabilities(scaled, scaled.sum()),
        expected)


def test_importance_weights_equal_the_formula_on_a_hand_computed_buffer():
    # alpha = 1, epsilon = 1: TD errors 0, 1, 3, 7 give priorities 1, 2, 4, 8
    # (total 15), P = p / 15, N = 4. With beta = 0.5:
    # w_i = (4 p_i / 15)^-0.5 / (4 * 1 / 15)^-0.5 = p_i^-0.5.
    buffer = prioritized_replay.PrioritizedReplayBuffer(
        NESTED, capacity=4, priority_exponent=1.0, epsilon=1.0, seed=3)
    buffer.add(_nested(np.arange(4)))
    buffer.update_priorities(np.arange(4), np.array([0.0, -1.0, 3.0, -7.0]))
    batch, slots, weights = buffer.sample(400, importance_exponent=0.5)
    assert weights.dtype == np.float32 and slots.dtype == np.int64
    np.testing.assert_array_equal(batch['id'], slots)
    np.testing.assert_array_equal(batch['observation'][:, 2], slots)
    hand = np.array([1.0, 2.0 ** -0.5, 0.5, 8.0 ** -0.5])
    np.testing.assert_allclose(weights, hand[slots], rtol=1e-6)
    assert set(slots.tolist()) == {0, 1, 2, 3}
    np.testing.assert_allclose(
        prioritized_replay.importance_weights(
            np.array([1, 2, 4, 8]) / 15, 4, 1 / 15, 0.5), hand)
    # beta = 0: no correction.
    _, _, weights = buffer.sample(16, importance_exponent=0.0)
    np.testing.assert_array_equal(weights, np.ones(16, np.float32))


def test_new_datapoints_get_the_largest_priority_seen():
    buffer = prioritized_replay.PrioritizedReplayBuffer(
        SCALAR, capacity=4, priority_exponent=0.5, epsilon=1e-6, seed=0)
    slots = buffer.add(np.arange(2))
    np.testing.assert_array_equal(buffer.tree.priorities(slots), [1.0, 1.0])
    buffer.update_priorities(np.array([0, 1]), np.array([15.0, 0.0]))
    largest = (15.0 + 1e-6) ** 0.5
    assert buffer.max_priority == pytest.approx(largest)
    slots = buffer.add(np.arange(2, 4))
    np.testing.assert_allclose(buffer.tree.priorities(slots), largest)
    # The running maximum outlives the datapoint that set it.
    buffer.update_priorities(np.array([0]), np.array([0.0]))
    slots = buffer.add(np.array([4]))
    np.testing.assert_array_equal(slots, [0])
    np.testing.assert_allclose(buffer.tree.priorities(slots), largest)


def test_wrapping_the_ring_overwrites_slots_and_their_priorities():
    buffer = prioritized_replay.PrioritizedReplayBuffer(
        SCALAR, capacity=4, priority_exponent=1.0, epsilon=1e-6, seed=0)
    np.testing.assert_array_equal(buffer.add(np.arange(3)), [0, 1, 2])
    buffer.update_priorities(np.arange(3), np.array([0.25, 0.5, 0.75]))
    max_priority = buffer.max_priority
    np.testing.assert_array_equal(buffer.add(np.arange(3, 6)), [3, 0, 1])
    np.testing.assert_array_equal(buffer.gather(np.arange(4)), [2, 3, 4, 5])
    np.testing.assert_allclose(buffer.tree.priorities(np.arange(4)),
                               [max_priority, max_priority, 0.75 + 1e-6,
                                max_priority])
    assert buffer.tree.total == pytest.approx(3 * max_priority + 0.75 + 1e-6)
    # More than the capacity at once: the slots of the kept last four.
    np.testing.assert_array_equal(buffer.add(np.arange(6, 12)), [0, 1, 2, 3])
    np.testing.assert_array_equal(buffer.gather(np.arange(4)), [8, 9, 10, 11])
    batch, slots, _ = buffer.sample(64, importance_exponent=1.0)
    np.testing.assert_array_equal(batch, 8 + slots)


def test_zero_priority_exponent_samples_uniformly():
    buffer = prioritized_replay.PrioritizedReplayBuffer(
        SCALAR, capacity=8, priority_exponent=0.0, seed=1)
    buffer.add(np.arange(5))
    buffer.update_priorities(np.arange(5), np.array([0.0, 1e-3, 1.0, 1e3, 1e6]))
    counts = np.zeros(5)
    for _ in range(40):
        batch, _, weights = buffer.sample(500, importance_exponent=1.0)
        np.testing.assert_array_equal(weights, np.ones(500, np.float32))
        counts += np.bincount(batch, minlength=5)
    np.testing.assert_allclose(counts / counts.sum(), 0.2, atol=0.01)
    # Only the filled slots are ever drawn.
    assert counts.sum() == 40 * 500


def test_state_round_trip_draws_identical_samples():
    buffer = prioritized_replay.PrioritizedReplayBuffer(
        NESTED, capacity=6, priority_exponent=0.7, seed=5)
    buffer.add(_nested(np.arange(9)))
    _, slots, _ = buffer.sample(4, importance_exponent=0.5)
    buffer.update_priorities(slots, np.array([3.0, 0.1, 2.0, 8.0]))
    state = pickle.loads(pickle.dumps(buffer.state_dict()))
    restored = prioritized_replay.PrioritizedReplayBuffer(
        NESTED, capacity=6, priority_exponent=0.7, seed=123)
    restored.load_state_dict(state)
    assert restored.max_priority == buffer.max_priority
    # 6 datapoints of 8 + 12 bytes; two trees of 2 * 8 float64 nodes.
    assert restored.nbytes == 6 * 20 + 2 * 16 * 8
    for step in range(5):
        for one in (buffer, restored):
            one.add(_nested(np.array([100 + step])))
        got = [one.sample(8, importance_exponent=0.6) for one in
               (buffer, restored)]
        (batch_a, slots_a, weights_a), (batch_b, slots_b, weights_b) = got
        np.testing.assert_array_equal(batch_a['id'], batch_b['id'])
        np.testing.assert_array_equal(slots_a, slots_b)
        np.testing.assert_array_equal(weights_a, weights_b)
        for one in (buffer, restored):
            one.update_priorities(slots_a, np.arange(8) * 0.5)
    with pytest.raises(ValueError, match='capacity 6, this one 7'):
        prioritized_replay.PrioritizedReplayBuffer(
            NESTED, capacity=7).load_state_dict(state)


@pytest.mark.parametrize('kwargs, match', [
    ({'priority_exponent': -0.1}, 'alpha'),
    ({'epsilon': 0.0}, 'epsilon must be > 0'),
    ({'capacity': 0}, 'capacity must be positive'),
])
def test_bad_construction_arguments_are_named(kwargs, match):
    arguments = {'datapoint_signature': SCALAR, 'capacity': 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        prioritized_replay.PrioritizedReplayBuffer(**arguments)


def test_bad_sampling_and_updates_are_named():
    buffer = prioritized_replay.PrioritizedReplayBuffer(SCALAR, capacity=4)
    with pytest.raises(ValueError, match='empty'):
        buffer.sample(2, importance_exponent=0.5)
    buffer.add(np.arange(2))
    with pytest.raises(ValueError, match=r'beta\) must be in \[0, 1\]'):
        buffer.sample(2, importance_exponent=1.5)
    with pytest.raises(ValueError, match='one TD error per sampled slot'):
        buffer.update_priorities(np.array([0, 1]), np.array([1.0]))
    with pytest.raises(IndexError, match='the slots filled'):
        buffer.update_priorities(np.array([2]), np.array([1.0]))
    with pytest.raises(ValueError, match='diverged'):
        buffer.update_priorities(np.array([0]), np.array([np.nan]))


def test_a_replay_larger_than_memory_fails_before_allocating():
    pixels = data.TensorSignature(shape=(84, 84, 4), dtype=np.uint8)
    with pytest.raises(errors.ConfigError,
                       match='A prioritized replay of 1,000,000,000 '
                             'datapoints needs'):
        prioritized_replay.PrioritizedReplayBuffer(pixels, capacity=10**9)


def test_discarded_datapoints_are_never_drawn_and_leave_weights_alone():
    buffer = prioritized_replay.PrioritizedReplayBuffer(
        SCALAR, capacity=4, priority_exponent=1.0, epsilon=1.0, seed=0)
    buffer.add(np.arange(4))
    buffer.update_priorities(np.arange(4), np.array([1.0, 3.0, 0.0, 0.0]))
    buffer.discard(np.array([2, 3]))  # Priorities 2, 4, 0, 0.
    batch, _, weights = buffer.sample(1000, importance_exponent=1.0)
    assert set(batch.tolist()) == {0, 1}
    # The least likely datapoint left (priority 2) has weight 1.
    np.testing.assert_allclose(weights, np.where(batch == 0, 1.0, 0.5))
    # A new datapoint in a discarded slot is drawable again.
    buffer.add(np.arange(4, 7))  # Slots 0, 1, 2.
    assert buffer.tree.priorities(np.array([2]))[0] == buffer.max_priority
    buffer.discard(np.arange(4))
    with pytest.raises(ValueError, match='all discarded'):
        buffer.sample(2, importance_exponent=0.5)
    with pytest.raises(IndexError, match='the slots filled'):
        buffer.discard(np.array([4]))
