"""Tests for AtariEnv: real ale-py Breakout with the Nature preprocessing."""

import copy

import numpy as np
import pytest

from alpacka import envs
from alpacka.envs import atari


def _play(env, seed, actions):
    """Observations and rewards of a seeded episode (resets on its end)."""
    observation, _ = env.reset(seed=seed)
    observations, rewards = [observation], []
    for action in actions:
        observation, reward, terminated, truncated, _ = env.step(action)
        observations.append(observation)
        rewards.append(reward)
        if terminated or truncated:
            observations.append(env.reset()[0])
    return np.array(observations), rewards


@pytest.fixture(name='breakout', scope='module')
def breakout_fixture():
    """One Breakout env with rgb_array rendering, shared by the module."""
    env = envs.AtariEnv(render_mode='rgb_array')
    yield env
    env.close()


def test_spaces_shapes_and_render(breakout):
    assert breakout.observation_space.shape == (84, 84)
    assert breakout.observation_space.dtype == np.uint8
    assert breakout.action_space.n == 4
    assert breakout.action_meanings() == ['NOOP', 'FIRE', 'RIGHT', 'LEFT']
    observation, _ = breakout.reset(seed=0)
    assert observation.shape == (84, 84) and observation.dtype == np.uint8
    assert breakout.observation_space.contains(observation)
    frame = breakout.render()
    assert frame.shape == (210, 160, 3) and frame.dtype == np.uint8
    assert frame.any()


def test_seeded_episodes_replay_exactly(breakout):
    actions = np.random.default_rng(0).integers(4, size=200)
    first, first_rewards = _play(breakout, 7, actions)
    again, again_rewards = _play(envs.AtariEnv(), 7, actions)
    other, _ = _play(breakout, 8, actions)
    np.testing.assert_array_equal(first, again)
    assert first_rewards == again_rewards
    # Sticky actions and no-ops follow the seed: another seed differs.
    assert first.shape != other.shape or not np.array_equal(first, other)
    # Random play in Breakout scores within 200 steps.
    assert sum(first_rewards) > 0


def test_frame_skip_and_max_pooling_of_the_last_two_frames():
    kwargs = {'noop_max': 0, 'fire_on_reset': False,
              'repeat_action_probability': 0.0}
    skipping = envs.AtariEnv(frame_skip=4, **kwargs)
    single = envs.AtariEnv(frame_skip=1, **kwargs)
    skipping.reset(seed=1)
    single.reset(seed=1)
    for action in [1, 2, 2, 3, 0, 1]:
        observation, reward, *_ = skipping.step(action)
        screens, single_reward = [], 0.0
        for _ in range(4):
            single_reward += single.step(action)[1]
            screens.append(single.ale.getScreenGrayscale())
        assert skipping.ale.getEpisodeFrameNumber() == (
            single.ale.getEpisodeFrameNumber())
        expected = atari.resize_frame(np.maximum(screens[-2], screens[-1]),
                                      (84, 84))
        np.testing.assert_array_equal(observation, expected)
        assert reward == single_reward
    assert skipping.ale.getEpisodeFrameNumber() == 24


def test_noop_starts_and_fire_on_reset():
    plain = envs.AtariEnv(noop_max=0, fire_on_reset=False)
    plain.reset(seed=0)
    assert plain.ale.getEpisodeFrameNumber() == 0
    noops = envs.AtariEnv(noop_max=30, fire_on_reset=False)
    starts = set()
    for seed in range(4):
        noops.reset(seed=seed)
        starts.add(noops.ale.getEpisodeFrameNumber())
    assert all(1 <= start <= 30 for start in starts) and len(starts) > 1
    # FIRE after the no-ops: one more agent step (frame_skip frames).
    fire = envs.AtariEnv(noop_max=0)
    fire.reset(seed=0)
    assert fire.ale.getEpisodeFrameNumber() == 4


def test_terminal_on_life_loss_and_frame_limit():
    env = envs.AtariEnv(terminal_on_life_loss=True)
    env.reset(seed=3)
    for _ in range(2000):
        _, _, terminated, truncated, info = env.step(0)
        if terminated or truncated:
            break
    assert terminated and not truncated and info['lives'] == 4
    limited = envs.AtariEnv(max_episode_steps=40, noop_max=0,
                            fire_on_reset=False)
    limited.reset(seed=0)
    ends = [limited.step(1)[3] for _ in range(10)]
    assert ends == [False] * 9 + [True]  # 40 frames = 10 steps of 4.


def test_clone_restore_replays_exactly_with_sticky_actions(breakout):
    breakout.reset(seed=5)
    for _ in range(30):
        breakout.step(1)
    state = breakout.clone_state()
    actions = np.random.default_rng(1).integers(4, size=80)
    first = [breakout.step(action)[:3] for action in actions]
    restored = breakout.restore_state(state)
    np.testing.assert_array_equal(restored, state.observation)
    second = [breakout.step(action)[:3] for action in actions]
    for step, again in zip(first, second):
        np.testing.assert_array_equal(step[0], again[0])
        assert step[1:] == again[1:]


def test_game_names_in_any_case_or_snake_case():
    assert atari.canonical_game('space_invaders') == 'SpaceInvaders'
    assert atari.canonical_game('breakout') == 'Breakout'
    assert envs.AtariEnv(game='pong').game == 'Pong'


def test_deepcopy_is_a_new_emulator_in_the_same_state(breakout):
    breakout.reset(seed=2)
    for _ in range(10):
        breakout.step(1)
    duplicate = copy.deepcopy(breakout)
    assert duplicate.ale is not breakout.ale
    actions = [2, 2, 3, 1, 0, 3] * 10
    for action in actions:
        step, again = breakout.step(action), duplicate.step(action)
        np.testing.assert_array_equal(step[0], again[0])
        assert step[1:4] == again[1:4]


def test_unknown_game_names_close_ones():
    with pytest.raises(atari.UnknownGameError) as info:
        envs.AtariEnv(game='Breakot')
    message = str(info.value).splitlines()[0]
    assert "'Breakot' is not a game ale-py ships" in message
    assert "'Breakout'" in message
