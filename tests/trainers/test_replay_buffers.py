"""Tests of alpacka.trainers.replay_buffers."""

import pickle

import numpy as np
import pytest

from alpacka import data
from alpacka.trainers import replay_buffers

SCALAR = data.TensorSignature(shape=(), dtype=np.int64)
NESTED = {
    'observation': data.TensorSignature(shape=(4,), dtype=np.float32),
    'extra': (data.TensorSignature(shape=(), dtype=np.int64),
              data.TensorSignature(shape=(2, 3), dtype=np.float64)),
}


def _nested_batch(ids):
    """Nested datapoints whose every leaf encodes the datapoint's id."""
    ids = np.asarray(ids)
    return {
        'observation': np.repeat(ids[:, None], 4, axis=1).astype(np.float32),
        'extra': (ids.astype(np.int64),
                  np.broadcast_to(ids[:, None, None], (len(ids), 2, 3))
                  .astype(np.float64)),
    }


def _contents(buffer):
    return buffer.gather(np.arange(len(buffer)))


def test_uniform_wrap_around_keeps_newest_items():
    buffer = replay_buffers.UniformReplayBuffer(SCALAR, capacity=5)
    buffer.add(np.arange(3))
    assert len(buffer) == 3
    np.testing.assert_array_equal(_contents(buffer), [0, 1, 2])
    buffer.add(np.arange(3, 7))  # Wraps around the end of the storage.
    assert len(buffer) == 5
    np.testing.assert_array_equal(_contents(buffer), [2, 3, 4, 5, 6])
    buffer.add(np.arange(7, 19))  # More than the capacity at once.
    np.testing.assert_array_equal(_contents(buffer), [14, 15, 16, 17, 18])
    buffer.add(np.arange(19, 19))  # An empty batch changes nothing.
    np.testing.assert_array_equal(_contents(buffer), [14, 15, 16, 17, 18])


@pytest.mark.parametrize('batch_sizes', [[1] * 23, [4, 9, 1, 9], [23], [7, 16]])
def test_uniform_batched_adds_equal_one_by_one_adds(batch_sizes):
    reference = replay_buffers.UniformReplayBuffer(NESTED, capacity=7)
    for i in range(23):
        reference.add(_nested_batch([i]))
    buffer = replay_buffers.UniformReplayBuffer(NESTED, capacity=7)
    start = 0
    for size in batch_sizes:
        buffer.add(_nested_batch(np.arange(start, start + size)))
        start += size
    got, expected = buffer.state_dict(), reference.state_dict()
    assert got['insert_pos'] == expected['insert_pos']
    for got_leaf, expected_leaf in zip(got['storage'], expected['storage']):
        np.testing.assert_array_equal(got_leaf, expected_leaf)


def test_uniform_sample_shapes_and_only_stored_items():
    buffer = replay_buffers.UniformReplayBuffer(NESTED, capacity=10, seed=0)
    buffer.add(_nested_batch(np.arange(25)))  # Holds ids 15..24.
    batch = buffer.sample(1000)
    assert batch['observation'].shape == (1000, 4)
    assert batch['observation'].dtype == np.float32
    assert batch['extra'][0].shape == (1000,)
    assert batch['extra'][1].shape == (1000, 2, 3)
    ids = batch['extra'][0]
    assert set(ids.tolist()) == set(range(15, 25))
    # The leaves of one sampled datapoint belong together.
    np.testing.assert_array_equal(batch['observation'][:, 3], ids)
    np.testing.assert_array_equal(batch['extra'][1][:, 1, 2], ids)


def test_uniform_sampling_is_uniform():
    n_items, n_samples = 10, 100_000
    buffer = replay_buffers.UniformReplayBuffer(SCALAR, capacity=n_items,
                                                seed=0)
    buffer.add(np.arange(n_items + 3))  # Wrapped: the slots are rotated.
    counts = np.bincount(buffer.sample(n_samples) - 3, minlength=n_items)
    expected = n_samples / n_items
    # Chi-square with 9 degrees of freedom: P(> 40) is about 1e-5, while
    # dropping or doubling any one item pushes it into the thousands.
    chi_square = ((counts - expected) ** 2 / expected).sum()
    assert chi_square < 40, counts


def test_uniform_sample_from_empty_raises():
    buffer = replay_buffers.UniformReplayBuffer(SCALAR, capacity=3)
    with pytest.raises(ValueError, match='empty'):
        buffer.sample(4)


def test_uniform_add_rejects_wrong_shapes_and_structures():
    buffer = replay_buffers.UniformReplayBuffer(NESTED, capacity=3)
    batch = _nested_batch([0, 1])
    batch['observation'] = batch['observation'][:, :3]
    with pytest.raises(ValueError, match=r"\['observation'\].*\(4,\)"):
        buffer.add(batch)
    batch = _nested_batch([0, 1])
    del batch['extra']
    with pytest.raises(ValueError, match='keys'):
        buffer.add(batch)
    batch = _nested_batch([0, 1])
    batch['extra'] = (batch['extra'][0][:1], batch['extra'][1])
    with pytest.raises(ValueError, match='batch size'):
        buffer.add(batch)


def test_uniform_dict_key_order_does_not_matter():
    buffer = replay_buffers.UniformReplayBuffer(NESTED, capacity=3)
    batch = _nested_batch([5])
    buffer.add({'extra': batch['extra'], 'observation': batch['observation']})
    assert list(buffer.gather([0])) == ['observation', 'extra']
    np.testing.assert_array_equal(buffer.gather([0])['observation'], [[5] * 4])


def test_uniform_same_seed_same_samples():
    buffers = [replay_buffers.UniformReplayBuffer(SCALAR, capacity=50)
               for _ in range(2)]
    for buffer in buffers:
        buffer.add(np.arange(50))
        buffer.seed(123)
    np.testing.assert_array_equal(buffers[0].sample(64), buffers[1].sample(64))


@pytest.mark.parametrize('n_added', [4, 9, 20])
def test_uniform_state_dict_round_trip(n_added):
    buffer = replay_buffers.UniformReplayBuffer(NESTED, capacity=9, seed=3)
    buffer.add(_nested_batch(np.arange(n_added)))
    buffer.sample(5)
    state = pickle.loads(pickle.dumps(buffer.state_dict()))
    # Only the filled part is saved.
    assert len(state['storage'][0]) == min(n_added, 9)
    restored = replay_buffers.UniformReplayBuffer(NESTED, capacity=9)
    restored.load_state_dict(state)
    assert len(restored) == len(buffer)
    for _ in range(3):
        np.testing.assert_array_equal(restored.sample(16)['extra'][0],
                                      buffer.sample(16)['extra'][0])
        new = _nested_batch(np.arange(100, 104))
        buffer.add(new)
        restored.add(new)
    np.testing.assert_array_equal(_contents(restored)['extra'][0],
                                  _contents(buffer)['extra'][0])


def test_uniform_load_state_dict_into_other_capacity_keeps_newest():
    buffer = replay_buffers.UniformReplayBuffer(SCALAR, capacity=6)
    buffer.add(np.arange(10))  # Holds 4..9, wrapped.
    smaller = replay_buffers.UniformReplayBuffer(SCALAR, capacity=4)
    smaller.load_state_dict(buffer.state_dict())
    np.testing.assert_array_equal(_contents(smaller), [6, 7, 8, 9])
    larger = replay_buffers.UniformReplayBuffer(SCALAR, capacity=20)
    larger.load_state_dict(buffer.state_dict())
    np.testing.assert_array_equal(_contents(larger), [4, 5, 6, 7, 8, 9])


def test_hierarchical_sampling_is_balanced_across_unequal_buckets():
    buffer = replay_buffers.HierarchicalReplayBuffer(SCALAR, capacity=10_000,
                                                     hierarchy_depth=1, seed=0)
    buffer.add(np.arange(5000), buckets=[False])  # ids 0..4999
    buffer.add(np.arange(5000, 5005), buckets=[True])  # ids 5000..5004
    ids = buffer.sample(40_000)
    from_rare = ids >= 5000
    # Standard deviation of the fraction is 0.0025; 0.02 is 8 of them.
    assert abs(from_rare.mean() - 0.5) < 0.02
    # Within the small bucket, uniform: 20000 draws over 5 items.
    counts = np.bincount(ids[from_rare] - 5000, minlength=5)
    assert counts.min() > 3600 and counts.max() < 4400, counts
    # The batch is not grouped by bucket.
    assert np.count_nonzero(np.diff(from_rare[:256].astype(int))) > 64


def test_hierarchical_two_levels_chooses_uniformly_at_each_level():
    buffer = replay_buffers.HierarchicalReplayBuffer(SCALAR, capacity=100,
                                                     hierarchy_depth=2, seed=1)
    buffer.add(np.full(50, 0), buckets=(True, 'a'))
    buffer.add(np.full(3, 1), buckets=(True, 'b'))
    buffer.add(np.full(7, 2), buckets=(False, 'a'))
    fractions = np.bincount(buffer.sample(40_000), minlength=3) / 40_000
    np.testing.assert_allclose(fractions, [0.25, 0.25, 0.5], atol=0.02)
    assert len(buffer) == 60
    assert set(buffer.buckets) == {(True, 'a'), (True, 'b'), (False, 'a')}


def test_hierarchical_nested_datapoints_and_errors():
    buffer = replay_buffers.HierarchicalReplayBuffer(NESTED, capacity=4,
                                                     hierarchy_depth=1)
    with pytest.raises(ValueError, match='empty'):
        buffer.sample(2)
    with pytest.raises(ValueError, match='bucket labels'):
        buffer.add(_nested_batch([1]), buckets=())
    buffer.add(_nested_batch(np.arange(6)), buckets=['x'])  # Keeps 2..5.
    batch = buffer.sample(50)
    assert batch['extra'][1].shape == (50, 2, 3)
    assert set(batch['extra'][0].tolist()) == {2, 3, 4, 5}
    np.testing.assert_array_equal(batch['observation'][:, 0],
                                  batch['extra'][0])


def test_hierarchical_depth_zero_is_one_bucket():
    buffer = replay_buffers.HierarchicalReplayBuffer(SCALAR, capacity=3,
                                                     hierarchy_depth=0)
    buffer.add(np.arange(5), buckets=())
    assert set(buffer.sample(100).tolist()) == {2, 3, 4}


def test_hierarchical_state_dict_round_trip():
    buffer = replay_buffers.HierarchicalReplayBuffer(NESTED, capacity=8,
                                                     hierarchy_depth=2, seed=5)
    buffer.add(_nested_batch(np.arange(10)), buckets=(1, 'a'))
    buffer.add(_nested_batch(np.arange(10, 13)), buckets=(0, 'b'))
    buffer.add(_nested_batch(np.arange(13, 15)), buckets=(1, 'c'))
    buffer.sample(7)
    state = pickle.loads(pickle.dumps(buffer.state_dict()))
    restored = replay_buffers.HierarchicalReplayBuffer(NESTED, capacity=8,
                                                       hierarchy_depth=2)
    restored.load_state_dict(state)
    assert len(restored) == len(buffer)
    for _ in range(3):
        np.testing.assert_array_equal(restored.sample(32)['extra'][0],
                                      buffer.sample(32)['extra'][0])
        new = _nested_batch(np.arange(100, 103))
        buffer.add(new, buckets=(0, 'd'))
        restored.add(new, buckets=(0, 'd'))


def test_load_state_dict_names_what_changed_in_the_signature():
    buffer = replay_buffers.UniformReplayBuffer(NESTED, capacity=4)
    buffer.add(_nested_batch([0, 1]))
    wider = dict(NESTED, observation=data.TensorSignature((5,), np.float32))
    with pytest.raises(ValueError, match=r"\['observation'\].*changed"):
        replay_buffers.UniformReplayBuffer(wider, capacity=4).load_state_dict(
            buffer.state_dict())
    with pytest.raises(ValueError, match='3 leaves.*1'):
        replay_buffers.UniformReplayBuffer(SCALAR, capacity=4).load_state_dict(
            buffer.state_dict())
    hierarchical = replay_buffers.HierarchicalReplayBuffer(SCALAR, capacity=4,
                                                           hierarchy_depth=1)
    with pytest.raises(ValueError, match='hierarchy depth 1, this one 2'):
        replay_buffers.HierarchicalReplayBuffer(
            SCALAR, capacity=4, hierarchy_depth=2).load_state_dict(
                hierarchical.state_dict())
