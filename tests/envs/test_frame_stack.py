"""Tests for FrameStack: stacks, reset padding, clone/restore, refusals."""

import gin
import gymnasium
import numpy as np
import pytest

from alpacka import data
from alpacka import envs
from alpacka.envs import frame_stack
from alpacka.trainers import frame_store


class _Recorder(gymnasium.Wrapper):
    """Keeps every observation of the wrapped env."""

    def __init__(self, env):
        super().__init__(env)
        self.observations = []

    def reset(self, **kwargs):
        observation, info = self.env.reset(**kwargs)
        self.observations = [observation]
        return observation, info

    def step(self, action):
        result = self.env.step(action)
        self.observations.append(result[0])
        return result

    def clone_state(self):
        """The wrapped env's state."""
        return self.env.clone_state()

    def restore_state(self, state):
        """Restores the wrapped env's state."""
        return self.env.restore_state(state)


@pytest.mark.parametrize('inner_fn', [envs.CartPoleNoVel, envs.MinAtarEnv])
def test_stacks_are_the_last_k_observations_newest_last(inner_fn):
    inner = _Recorder(inner_fn())
    env = envs.FrameStack(inner, n_frames=3)
    shape = inner.observation_space.shape
    assert env.observation_space.shape == (3,) + shape
    assert env.observation_space.dtype == inner.observation_space.dtype
    stack, _ = env.reset(seed=2)
    # At reset: the first observation, repeated.
    np.testing.assert_array_equal(stack, [inner.observations[0]] * 3)
    stacks = [stack]
    for step in range(8):
        stack, _, terminated, _, _ = env.step(step % 2)
        stacks.append(stack)
        if terminated:
            break
    for index, stack in enumerate(stacks):
        padded = [inner.observations[0]] * 2 + inner.observations
        np.testing.assert_array_equal(stack, padded[index:index + 3])
        assert env.observation_space.contains(stack)
    # Stacks handed out earlier are not changed by later steps.
    assert not all(np.array_equal(stacks[0], later) for later in stacks[1:])


def test_atari_stack_shape_and_dtype():
    env = envs.FrameStack(envs.AtariEnv, n_frames=4, noop_max=0)
    stack, _ = env.reset(seed=0)
    assert stack.shape == (4, 84, 84) and stack.dtype == np.uint8
    stack, *_ = env.step(1)
    assert env.observation_space.contains(stack)
    np.testing.assert_array_equal(stack[:3], [stack[0]] * 3)
    assert not np.array_equal(stack[3], stack[0])  # FIRE moved the ball.


def test_clone_restore_includes_the_stack():
    env = envs.FrameStack(envs.CartPoleNoVel, n_frames=4)
    env.reset(seed=0)
    for action in [0, 1, 1]:
        env.step(action)
    state = env.clone_state()
    saved = env.step(0)[0]
    first = [env.step(action)[0] for action in [1, 0, 0]]
    restored = env.restore_state(state)
    np.testing.assert_array_equal(restored, state.frames)
    assert env.step(0)[0].tolist() == saved.tolist()
    second = [env.step(action)[0] for action in [1, 0, 0]]
    np.testing.assert_array_equal(first, second)
    # States compare by the inner state and the frames.
    assert env.clone_state() != state
    assert frame_stack.StackedState(state.state, state.frames.copy()) == state
    assert hash(frame_stack.StackedState(state.state,
                                         state.frames.copy())) == hash(state)


@pytest.mark.parametrize('env_fn, n_steps', [
    (lambda: envs.FrameStack(envs.MinAtarEnv, n_frames=4), 400),
    (lambda: envs.FrameStack(envs.AtariEnv, n_frames=4), 150)])
def test_a_replay_storing_each_frame_once_rebuilds_the_envs_stacks(
        env_fn, n_steps):
    env = env_fn()
    inner_space = env.env.observation_space
    store = frame_store.FrameStackStore(
        4, data.TensorSignature(inner_space.shape, inner_space.dtype),
        capacity_frames=n_steps + 50, check=True)
    actions = np.random.default_rng(0).integers(env.action_space.n,
                                                size=n_steps)
    ids, stacks, episode = [], [], [env.reset(seed=0)[0]]
    previous = None
    for step, action in enumerate(actions):
        observation, _, terminated, truncated, _ = env.step(action)
        episode.append(observation)
        if terminated or truncated or step % 7 == 6 or step == n_steps - 1:
            # Stretches of an episode, as step-based collection adds them.
            added = store.add_stretch(previous, np.stack(episode))
            ids.extend(added)
            stacks.extend(episode)
            previous, episode = added[-1], []
            if terminated or truncated:
                previous, episode = None, [env.reset()[0]]
    assert store.frames_written == len(ids)  # One frame per observation.
    np.testing.assert_array_equal(store.get(np.array(ids)), np.stack(stacks))


@pytest.mark.parametrize('space', [
    gymnasium.spaces.Discrete(3),
    gymnasium.spaces.Dict({'a': gymnasium.spaces.Discrete(2)}),
    gymnasium.spaces.Tuple((gymnasium.spaces.Discrete(2),))])
def test_non_array_observations_are_refused(space):
    inner = envs.CartPole()
    inner.observation_space = space
    with pytest.raises(frame_stack.FrameStackError) as info:
        envs.FrameStack(inner)
    assert 'stacks array observations (a gymnasium Box)' in str(info.value)
    assert 'CartPole observes' in str(info.value)


def test_needs_exactly_one_env():
    with pytest.raises(frame_stack.FrameStackError, match='not both'):
        envs.FrameStack()


def test_gin_binding_builds_the_inner_env():
    with gin.unlock_config():
        gin.parse_config('\n'.join([
            'FrameStack.env_class = @alpacka.envs.CartPoleNoVel',
            'FrameStack.n_frames = 5']))
    try:
        env = envs.FrameStack()
    finally:
        gin.clear_config()
    assert env.observation_space.shape == (5, 2)
    assert isinstance(env.env, envs.CartPoleNoVel)
