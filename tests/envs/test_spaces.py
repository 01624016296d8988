"""Tests for alpacka.envs.spaces (moved from alpacka.utils.spaces)."""

import gymnasium
import numpy as np
import pytest

from alpacka import data
from alpacka.envs import spaces


def test_signature_of_discrete_and_box_spaces():
    assert spaces.signature(gymnasium.spaces.Discrete(3)) == (
        data.TensorSignature(shape=(), dtype=np.int64))
    box = gymnasium.spaces.Box(-1.0, 1.0, shape=(2, 3), dtype=np.float32)
    assert spaces.signature(box) == data.TensorSignature(shape=(2, 3),
                                                         dtype=np.float32)
    with pytest.raises(TypeError, match='expected Box or Discrete'):
        spaces.signature(gymnasium.spaces.MultiBinary(2))


def test_n_actions_needs_a_discrete_space():
    assert spaces.n_actions(gymnasium.spaces.Discrete(4, start=1)) == 4
    with pytest.raises(TypeError, match='needs a Discrete action space'):
        spaces.n_actions(gymnasium.spaces.Box(-1.0, 1.0, shape=(1,)))


def test_discrete_sampler_is_uniform_seeded_and_respects_start():
    space = gymnasium.spaces.Discrete(3, start=2)
    sampler = spaces.DiscreteSampler(space, np.random.default_rng(0),
                                     block_size=8)
    draws = [sampler.sample() for _ in range(3000)]
    assert set(draws) == {2, 3, 4}
    counts = np.bincount(draws, minlength=5)[2:]
    assert np.all(np.abs(counts / 3000 - 1 / 3) < 0.05)
    again = spaces.DiscreteSampler(space, np.random.default_rng(0),
                                   block_size=8)
    assert [again.sample() for _ in range(3000)] == draws
