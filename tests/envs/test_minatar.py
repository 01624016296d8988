"""Tests for MinAtarEnv: the real minatar games through gymnasium's API."""

import numpy as np
import pytest

from alpacka import envs
from alpacka.envs import minatar


def _play(env, seed, actions):
    observation, _ = env.reset(seed=seed)
    observations, rewards, ends = [observation], [], 0
    for action in actions:
        observation, reward, terminated, truncated, _ = env.step(action)
        observations.append(observation)
        rewards.append(reward)
        if terminated or truncated:
            ends += 1
            observations.append(env.reset()[0])
    return np.array(observations), rewards, ends


def test_breakout_spaces_and_render():
    env = envs.MinAtarEnv(render_mode='rgb_array')
    assert env.observation_space.shape == (10, 10, 4)
    assert env.observation_space.dtype == np.uint8
    assert env.action_space.n == 3  # Breakout's minimal set: n, l, r.
    observation, _ = env.reset(seed=0)
    assert observation.dtype == np.uint8 and observation.max() == 1
    assert env.observation_space.contains(observation)
    # Channel 3 is the bricks: three full rows at the start.
    assert observation[..., 3].sum() == 30
    frame = env.render()
    assert frame.shape == (160, 160, 3) and frame.dtype == np.uint8
    # A brick cell is drawn in the brick channel's colour, 16x16 pixels.
    np.testing.assert_array_equal(frame[16:32, 0:16],
                                  np.broadcast_to(minatar.render_state(
                                      observation, 1)[1, 0], (16, 16, 3)))
    assert envs.MinAtarEnv().render() is None


def test_seeded_episodes_replay_exactly():
    actions = np.random.default_rng(0).integers(3, size=400)
    env = envs.MinAtarEnv()
    first, first_rewards, ends = _play(env, 11, actions)
    again, again_rewards, _ = _play(envs.MinAtarEnv(), 11, actions)
    np.testing.assert_array_equal(first, again)
    assert first_rewards == again_rewards
    assert ends > 0 and sum(first_rewards) > 0
    other, _, _ = _play(env, 12, actions)
    assert first.shape != other.shape or not np.array_equal(first, other)


def test_sticky_actions_follow_the_probability():
    # With sticky_action_prob = 1 the first action (none) repeats forever:
    # the paddle never leaves its start cell.
    env = envs.MinAtarEnv(sticky_action_prob=1.0)
    env.reset(seed=0)
    for _ in range(5):
        observation = env.step(1)[0]
    assert observation[9, 4, 0] == 1
    free = envs.MinAtarEnv(sticky_action_prob=0.0)
    free.reset(seed=0)
    for _ in range(5):
        observation = free.step(1)[0]  # Left, five times.
    assert observation[9, 0, 0] == 1


def test_time_limit_truncates():
    env = envs.MinAtarEnv(game='freeway', max_episode_steps=25)
    env.reset(seed=0)
    ends = [env.step(0)[2:4] for _ in range(25)]
    assert ends == [(False, False)] * 24 + [(False, True)]


@pytest.mark.parametrize('game', ['breakout', 'seaquest', 'space_invaders'])
def test_clone_restore_replays_exactly(game):
    env = envs.MinAtarEnv(game=game)
    env.reset(seed=3)
    for action in range(15):
        env.step(action % env.action_space.n)
    state = env.clone_state()
    observation = env._observation()  # pylint: disable=protected-access
    actions = np.random.default_rng(2).integers(env.action_space.n, size=200)
    first = [env.step(action)[:3] for action in actions]
    np.testing.assert_array_equal(env.restore_state(state), observation)
    second = [env.step(action)[:3] for action in actions]
    for step, again in zip(first, second):
        np.testing.assert_array_equal(step[0], again[0])
        assert step[1:] == again[1:]


def test_restores_a_state_cloned_before_seeding():
    env = envs.MinAtarEnv()
    unseeded = env.clone_state()
    env.reset(seed=0)
    env.restore_state(unseeded)
    first = [env.step(action)[0] for action in [1, 2, 0, 1]]
    env.restore_state(unseeded)
    second = [env.step(action)[0] for action in [1, 2, 0, 1]]
    np.testing.assert_array_equal(first, second)


def test_unknown_game_suggests_one():
    with pytest.raises(minatar.UnknownMinAtarGameError) as info:
        envs.MinAtarEnv(game='brekout')
    assert "Did you mean 'breakout'?" in str(info.value)
