"""Tests for the nested-structure operations."""

import collections

import numpy as np
import pytest

from alpacka import data

Pair = collections.namedtuple('Pair', ['first', 'second'])


def test_nested_map_keeps_structure_and_types():
    structure = {'a': (1, [2, 3]), 'b': Pair(4, None)}
    mapped = data.nested_map(lambda x: x * 10, structure)
    assert mapped == {'a': (10, [20, 30]), 'b': Pair(40, None)}
    assert isinstance(mapped['b'], Pair)
    assert isinstance(mapped['a'][1], list)


def test_zip_unzip_round_trip():
    xs = [Pair(1, {'k': 2}), Pair(3, {'k': 4})]
    zipped = data.nested_zip(xs)
    assert zipped == Pair([1, 3], {'k': [2, 4]})
    assert data.nested_unzip(zipped) == xs


def test_stack_and_unstack_arrays():
    xs = [Pair(np.full(3, i), {'k': np.float32(i)}) for i in range(4)]
    stacked = data.nested_stack(xs)
    assert stacked.first.shape == (4, 3)
    np.testing.assert_array_equal(stacked.second['k'], [0, 1, 2, 3])
    unstacked = data.nested_unstack(stacked)
    assert len(unstacked) == 4
    np.testing.assert_array_equal(unstacked[2].first, [2, 2, 2])
    assert unstacked[3].second['k'] == 3


def test_concatenate_along_batch_axis():
    xs = [{'x': np.zeros((2, 5))}, {'x': np.ones((3, 5))}]
    concatenated = data.nested_concatenate(xs)
    assert concatenated['x'].shape == (5, 5)
    np.testing.assert_array_equal(concatenated['x'][:, 0], [0, 0, 1, 1, 1])


def test_choose_leaf_and_leaves():
    structure = ({'b': 2, 'a': 1}, [3])
    assert data.nested_leaves(structure) == [2, 1, 3]
    assert data.choose_leaf(structure) == 2
    with pytest.raises(ValueError):
        data.choose_leaf(((), None))


def test_episode_len_counts_steps_and_replace_works():
    batch = data.Transition(*[np.zeros(3)] * 5, agent_info={},
                            terminated=np.zeros(3, bool),
                            truncated=np.zeros(3, bool))
    episode = data.Episode(transition_batch=batch, return_=1.0)
    assert len(episode) == 3
    replaced = episode._replace(return_=5.0, solved=True)
    assert replaced.return_ == 5.0 and replaced.solved and len(replaced) == 3
    with pytest.raises(TypeError):
        data.Episode._make([batch])
