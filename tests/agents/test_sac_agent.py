"""Tests for SoftActorCriticAgent (see tests/runner/test_sac_runner.py for runs)."""

import gymnasium
import numpy as np
import pytest

from alpacka import agents
from alpacka import envs


def _play(agent, env, prediction, n_steps=6):
    coroutine = agent.solve(env, time_limit=n_steps)
    try:
        request = next(coroutine)
        while True:
            assert request.shape == (1,) + env.observation_space.shape
            request = coroutine.send(prediction)
    except StopIteration as stop:
        return stop.value.transition_batch.action


def test_box_actions_sample_in_training_and_mean_in_evaluation():
    env = envs.Pendulum()
    env.reset(seed=0)
    prediction = {'mean': np.array([[0.5]], np.float32),
                  'sample': np.array([[-1.5]], np.float32)}
    agent = agents.SoftActorCriticAgent()
    np.testing.assert_array_equal(_play(agent, env, prediction), [[-1.5]] * 6)
    agent.evaluation = True
    np.testing.assert_array_equal(_play(agent, env, prediction), [[0.5]] * 6)


def _random_start_agent():
    """(Pendulum, agent with 4 random steps, prediction sampling 0.25)."""
    env = envs.Pendulum()
    env.reset(seed=0)
    agent = agents.SoftActorCriticAgent(n_random_steps=4)
    agent.seed(0)
    prediction = {'mean': np.zeros((1, 1), np.float32),
                  'sample': np.full((1, 1), 0.25, np.float32)}
    return env, agent, prediction


def test_random_steps_then_the_policy():
    env, agent, prediction = _random_start_agent()
    actions = _play(agent, env, prediction, n_steps=8)[:, 0]
    assert np.all(np.abs(actions) <= 2.0)
    assert len(set(actions[:4].tolist())) == 4  # Uniformly random first.
    np.testing.assert_array_equal(actions[4:], [0.25] * 4)


def test_discrete_actions_from_logits():
    env = envs.CartPole()
    env.reset(seed=0)
    agent = agents.SoftActorCriticAgent()
    agent.seed(0)
    prediction = {'logits': np.array([[0.0, 1.0]], np.float32)}
    actions = _play(agent, env, prediction, n_steps=200)
    assert 0.6 < np.mean(actions) < 0.85  # softmax([0, 1]) = (0.27, 0.73).
    agent.evaluation = True
    assert set(_play(agent, env, prediction).tolist()) == {1}
    with pytest.raises(TypeError, match='Box or Discrete'):
        agent.network_signature(env.observation_space,
                                gymnasium.spaces.MultiBinary(2))


def test_random_steps_count_the_runs_steps_when_told():
    env, agent, prediction = _random_start_agent()
    agent.env_steps = 4  # E.g. a resumed run: the random steps are done.
    np.testing.assert_array_equal(_play(agent, env, prediction)[:, 0],
                                  [0.25] * 6)
    agent.env_steps = 3
    assert _play(agent, env, prediction)[0, 0] != 0.25
