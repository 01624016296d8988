"""Tests for MaskedObservation and CartPoleNoVel."""

import numpy as np
import pytest

from alpacka import envs
from alpacka.envs import masked


def test_cartpole_novel_observes_position_and_angle_only():
    env = envs.CartPoleNoVel()
    full = envs.CartPole()
    assert env.observation_space.shape == (2,)
    np.testing.assert_array_equal(env.observation_space.high,
                                  full.observation_space.high[[0, 2]])
    observation, _ = env.reset(seed=4)
    full_observation, _ = full.reset(seed=4)
    np.testing.assert_array_equal(observation, full_observation[[0, 2]])
    for action in [0, 1, 1, 0, 1]:
        observation, reward, terminated, _, _ = env.step(action)
        full_observation, full_reward, full_terminated, _, _ = full.step(action)
        np.testing.assert_array_equal(observation, full_observation[[0, 2]])
        assert (reward, terminated) == (full_reward, full_terminated)
        assert observation.dtype == np.float32


def test_clone_restore_passes_through_and_masks():
    env = envs.CartPoleNoVel()
    env.reset(seed=0)
    env.step(1)
    state = env.clone_state()
    assert state == env.unwrapped.clone_state()
    first = [env.step(action)[0] for action in [0, 0, 1]]
    restored = env.restore_state(state)
    assert restored.shape == (2,)
    second = [env.step(action)[0] for action in [0, 0, 1]]
    np.testing.assert_array_equal(first, second)


def test_masked_observation_keeps_the_given_entries_in_order():
    env = envs.MaskedObservation(envs.Pendulum(), keep=[2, 0])
    observation, _ = env.reset(seed=1)
    full = env.unwrapped._observation()  # pylint: disable=protected-access
    np.testing.assert_array_equal(observation, full[[2, 0]])


@pytest.mark.parametrize('keep, fragment', [
    ([], 'it is empty'), ([0, 4], '[4] are out of range')])
def test_bad_keep_is_one_paragraph(keep, fragment):
    with pytest.raises(masked.MaskedObservationError) as info:
        envs.MaskedObservation(envs.CartPole(), keep=keep)
    assert fragment in str(info.value)
    assert 'indices 0..3' in str(info.value)


def test_non_vector_observations_are_refused():
    with pytest.raises(masked.MaskedObservationError,
                       match='flat \\(1-D\\) Box'):
        envs.MaskedObservation(envs.MinAtarEnv(), keep=[0])
