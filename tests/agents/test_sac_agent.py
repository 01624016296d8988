"""Tests for SoftActorCriticAgent, alone and through the Runner."""

import os

import gin
import gymnasium
import numpy as np
import pytest

import alpacka
from alpacka import agents
from alpacka import envs
from alpacka import metric_logging
from alpacka import runner as runner_lib


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


def test_random_steps_then_the_policy():
    env = envs.Pendulum()
    env.reset(seed=0)
    agent = agents.SoftActorCriticAgent(n_random_steps=4)
    agent.seed(0)
    prediction = {'mean': np.zeros((1, 1), np.float32),
                  'sample': np.full((1, 1), 0.25, np.float32)}
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


def test_sac_pendulum_config_runs_through_the_runner(tmp_path):
    gin.clear_config()
    gin.parse_config_files_and_bindings(
        [os.path.join(os.path.dirname(alpacka.__file__), 'configs',
                      'sac_pendulum.gin')],
        ['Runner.n_epochs = 3', 'Runner.episode_time_limit = 40',
         'Runner.n_envs = 2', 'SoftActorCriticAgent.n_random_steps = 20',
         'SoftActorCriticNetwork.hidden_sizes = (16,)',
         'SoftActorCriticTrainer.batch_size = 16',
         'SoftActorCriticTrainer.min_replay_size = 50',
         'EvaluationCallback.every_n_epochs = 3',
         'EvaluationCallback.n_episodes = 2'])
    runner_lib.Runner(str(tmp_path)).run()
    def metric_values(output_dir, name):
        return {record['step']: record['value'] for record in
                metric_logging.read_metrics(str(output_dir / 'metrics.jsonl'))
                if record['name'] == name}

    updates = metric_values(tmp_path, 'train/n_updates')
    # 80 transitions an epoch; training starts once 50 are in the replay.
    assert updates.get(1) == 80 and updates.get(2) == 80
    assert np.isfinite(metric_values(tmp_path, 'train/critic_loss')[2])
    assert metric_values(tmp_path, 'eval_episode/count') == {2: 2}
    assert metric_values(tmp_path, 'agent/action_std')[0] > 0
