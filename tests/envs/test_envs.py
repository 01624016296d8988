"""Tests for the model envs: dynamics, cloning and the time limit."""

import gymnasium
import numpy as np
import pytest

from alpacka import envs


def _rollout(env, actions):
    return [env.step(action) for action in actions]


def _assert_same_steps(steps_a, steps_b):
    assert len(steps_a) == len(steps_b)
    for step_a, step_b in zip(steps_a, steps_b):
        np.testing.assert_array_equal(step_a[0], step_b[0])
        assert step_a[1:4] == step_b[1:4]


def test_cartpole_matches_gymnasium_dynamics():
    ours = envs.CartPole()
    theirs = gymnasium.make('CartPole-v1').unwrapped
    observation, _ = ours.reset(seed=3)
    their_observation, _ = theirs.reset(seed=3)
    np.testing.assert_array_equal(observation, their_observation)
    # Push left until the pole falls (both envs must agree when).
    steps, their_steps = [], []
    for action in [0, 1, 1] + [0] * 30:
        steps.append(ours.step(action))
        their_steps.append(theirs.step(action))
        if their_steps[-1][2]:
            break
    for step, their_step in zip(steps, their_steps):
        np.testing.assert_allclose(step[0], their_step[0], rtol=1e-6)
        assert step[1:4] == their_step[1:4]
    assert any(step[2] for step in steps), 'the pole should have fallen'


@pytest.mark.parametrize('env_fn', [
    envs.CartPole, envs.Pendulum, lambda: envs.GymEnv(env_id='Acrobot-v1'),
    lambda: envs.GymEnv(env_id='FrozenLake-v1', is_slippery=True),
    lambda: envs.Sokoban(dim_room=(8, 8), num_boxes=2)])
def test_restore_state_replays_exactly(env_fn):
    env = env_fn()
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(12)]
    _rollout(env, actions[:3])
    state = env.clone_state()
    first = _rollout(env, actions[3:])
    observation = env.restore_state(state)
    second = _rollout(env, actions[3:])
    _assert_same_steps(first, second)
    np.testing.assert_array_equal(observation, env.restore_state(state))


def test_cartpole_states_are_hashable_values():
    env = envs.CartPole()
    env.reset(seed=1)
    state = env.clone_state()
    env.step(0)
    env.restore_state(state)
    assert env.clone_state() == state
    assert hash(env.clone_state()) == hash(state)
    assert len({state, env.clone_state()}) == 1


def test_cartpole_reward_after_fall_is_zero():
    env = envs.CartPole()
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, reward, terminated, _, _ = env.step(0)
        assert reward == 1.0
    assert env.step(0)[1] == 0.0


def test_gym_env_applies_spec_time_limit_and_rejects_unknown_ids():
    env = envs.GymEnv(env_id='CartPole-v1', max_episode_steps=5)
    env.reset(seed=0)
    truncations = [env.step(env.action_space.sample())[3] for _ in range(5)]
    assert truncations == [False] * 4 + [True]
    with pytest.raises(ValueError, match='NoSuchEnv-v0'):
        envs.GymEnv(env_id='NoSuchEnv-v0')


def test_time_limit_counter_is_not_in_state_but_is_rewound():
    env = envs.TimeLimitWrapper(envs.CartPole(), max_episode_steps=4)
    env.reset(seed=0)
    env.step(0)
    state = env.clone_state()
    for _ in range(3):  # A planner's simulation reaches the limit ...
        *_, truncated, _ = env.step(1)
    assert truncated
    env.restore_state(state)  # ... and restoring gives the steps back.
    assert env.elapsed_steps == 1
    assert [env.step(0)[3] for _ in range(3)] == [False, False, True]
    # The same physical state at another time is the same key, ...
    later = envs.base.TimedState(state.state, elapsed_steps=3)
    assert later == state and hash(later) == hash(state)
    assert len({state, later, env.clone_state()}) == 2
    env.restore_state(later)  # ... though restoring it sets its own time.
    assert env.elapsed_steps == 3


def test_gym_env_clones_share_static_tables_and_forward_np_random():
    env = envs.GymEnv(env_id='FrozenLake-v1')
    env.reset(seed=0)
    state = env.clone_state()
    assert 'P' not in state.attributes  # Shared, not copied.
    env.restore_state(state)
    assert env.unwrapped_env.P is not None
    generator = np.random.default_rng(5)
    env.np_random = generator
    assert env.unwrapped_env.np_random is generator
