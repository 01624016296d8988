"""Tests for the planning agents: ShootingAgent and CEMAgent."""

import functools
import math
import os
import subprocess
import sys

import gymnasium
import numpy as np
import pytest

from coroutine_driver import dummy_network_fn, drive, prediction_requests
from alpacka import agents
from alpacka import batch_steppers
from alpacka import data
from alpacka import envs
from alpacka import networks
from alpacka.agents import shooting
from alpacka.utils import run_directory

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'alpacka', 'configs')


def _act(agent, **drive_kwargs):
    """agent.act in its env's current state.

    Returns:
        ((action, agent_info), the prediction requests it made).
    """
    result, requests = drive(agent.act(None), **drive_kwargs)
    return result, prediction_requests(requests)


def _cartpole(state=None, seed=0):
    env = envs.CartPole()
    env.reset(seed=seed)
    if state is not None:
        env.restore_state(state)
    return env


def _pendulum(state=(math.pi, 0.0)):
    env = envs.Pendulum()
    env.reset(seed=0)
    env.restore_state(state)
    return env


class _ScriptedPolicy(networks.Network):
    """Logits that favour the action its params name; counts predict calls."""

    n_predict_calls = 0

    def __init__(self, network_signature=None, with_value=False):
        super().__init__(network_signature)
        self._with_value = with_value
        self._preferred = 0

    def predict(self, inputs):
        _ScriptedPolicy.n_predict_calls += 1
        logits = np.full((len(inputs), 2), -5.0, np.float32)
        logits[:, self._preferred] = 5.0
        if self._with_value:
            return {'value': np.zeros((len(inputs), 1), np.float32),
                    'policy': logits}
        return logits

    @property
    def params(self):
        return self._preferred

    @params.setter
    def params(self, new_params):
        self._preferred = int(new_params)


_GREEDY_SOFTMAX = functools.partial(agents.SoftmaxAgent, temperature=0.0)


# ---------------------------------------------------------------------------
# ShootingAgent in Discrete action spaces.
# ---------------------------------------------------------------------------

def test_shooting_agent_asks_for_the_network_and_plays_an_episode():
    env = _cartpole()
    agent = agents.ShootingAgent(n_rollouts=16, rollout_time_limit=20,
                                 n_envs=4)
    agent.seed(0)
    episode, requests = drive(agent.solve(env, time_limit=60))
    assert len(requests) == 60
    assert all(data.is_network_request(request) for request in requests)
    assert len(episode) == 60 and episode.truncated
    info = episode.transition_batch.agent_info
    assert info['action_scores'].shape == (60, 2)
    assert np.all(info['model_steps'] >= 16)
    agent.close()


def test_shooting_act_restores_root_state():
    env = _cartpole(seed=2)
    agent = agents.ShootingAgent(n_rollouts=8, rollout_time_limit=10,
                                 n_envs=4)
    agent.reset(env, None)
    state = env.clone_state()
    (action, info), _ = _act(agent)
    assert env.clone_state() == state
    assert action in (0, 1) and info['model_steps'] > 0
    agent.close()


@pytest.mark.parametrize('agent_class', [agents.RandomAgent,
                                         _GREEDY_SOFTMAX])
def test_default_rollouts_equal_those_of_a_configured_local_stepper(
        agent_class):
    def play(batch_stepper_class):
        agent = agents.ShootingAgent(
            n_rollouts=8, rollout_time_limit=6, n_envs=4,
            agent_class=agent_class, batch_stepper_class=batch_stepper_class)
        agent.seed(3)
        episode, _ = drive(agent.solve(_cartpole(seed=3), time_limit=10),
                            network_fn=_ScriptedPolicy, params=1,
                            predict=_ScriptedPolicy().predict)
        agent.close()
        return episode.transition_batch

    default, configured = play(None), play(batch_steppers.LocalBatchStepper)
    np.testing.assert_array_equal(default.action, configured.action)
    np.testing.assert_array_equal(default.agent_info['action_scores'],
                                  configured.agent_info['action_scores'])
    np.testing.assert_array_equal(default.agent_info['model_steps'],
                                  configured.agent_info['model_steps'])


def test_shooting_through_a_batch_stepper_beats_random():
    def mean_length(agent_fn):
        stepper = batch_steppers.LocalBatchStepper(
            envs.CartPole, agent_fn,
            dummy_network_fn, n_envs=4, seed=0)
        episodes = stepper.run_episode_batch(None, time_limit=100)
        stepper.close()
        return np.mean([len(episode) for episode in episodes])

    shooting_agent = functools.partial(agents.ShootingAgent, n_rollouts=20,
                                       rollout_time_limit=20, n_envs=10)
    assert mean_length(shooting_agent) == 100
    assert mean_length(agents.RandomAgent) < 50


def test_rollouts_by_a_policy_agent_get_predictions_through_the_stepper():
    env = _cartpole()
    agent = agents.ShootingAgent(n_rollouts=8, rollout_time_limit=5,
                                 n_envs=4, agent_class=_GREEDY_SOFTMAX)
    agent.seed(0)
    agent.reset(env, None)
    signature = agent.network_signature(env.observation_space,
                                        env.action_space)
    assert signature == agents.SoftmaxAgent().network_signature(
        env.observation_space, env.action_space)
    calls_before = _ScriptedPolicy.n_predict_calls
    # The params name the action the rollouts' policy takes: every rollout
    # starts with it, so the other action is never scored.
    for preferred in (1, 0, 1):
        (action, info), predictions = _act(
            agent, network_fn=_ScriptedPolicy, params=preferred)
        assert action == preferred and not predictions
        assert info['action_scores'][1 - preferred] == -np.inf
        assert info['action_scores'][preferred] == 5.0
    # 3 steps x 2 batches of 4 rollouts x 5 rollout steps, one call per
    # round of the nested stepper.
    assert _ScriptedPolicy.n_predict_calls - calls_before == 3 * 2 * 5
    agent.close()


def test_network_signature_adds_a_value_head_for_bootstrapping():
    cartpole, pendulum = _cartpole(), _pendulum()
    def signature(env, **kwargs):
        return agents.ShootingAgent(**kwargs).network_signature(
            env.observation_space, env.action_space)

    assert signature(cartpole) is None
    bootstrap = shooting.bootstrap_return
    value_only = signature(cartpole, estimate_fn=bootstrap)
    assert value_only.input.shape == (4,)
    assert value_only.output == {'value': data.TensorSignature((1,))}
    shared = signature(cartpole, estimate_fn=bootstrap,
                       agent_class=agents.SoftmaxAgent)
    assert list(shared.output) == ['value', 'policy']
    assert shared.output['policy'].shape == (2,)
    assert signature(pendulum, estimate_fn=bootstrap).input.shape == (3,)
    assert signature(pendulum, agent_class=agents.SoftmaxAgent) is None


def _hand_made_episode(rewards, terminated):
    n_steps = len(rewards)
    ends = np.zeros(n_steps, dtype=bool)
    ends[-1] = terminated
    return data.Episode(
        transition_batch=data.Transition(
            observation=np.zeros((n_steps, 1)), action=np.zeros(n_steps),
            reward=np.asarray(rewards, dtype=np.float64),
            done=np.ones(n_steps, dtype=bool),
            next_observation=np.zeros((n_steps, 1)), agent_info={},
            terminated=ends, truncated=~ends),
        return_=float(sum(rewards)), truncated=not terminated)


def test_bootstrap_return_adds_the_final_value_only_when_truncated():
    truncated = _hand_made_episode([1.0, 2.0, 3.0], terminated=False)
    terminated = _hand_made_episode([1.0, 2.0, 3.0], terminated=True)
    rewards_only = 1.0 + 0.9 * 2.0 + 0.81 * 3.0
    assert shooting.truncated_return(truncated, 0.9) == pytest.approx(
        rewards_only)
    assert shooting.bootstrap_return(
        truncated, 0.9, final_value=10.0) == pytest.approx(
            rewards_only + 0.729 * 10.0)
    assert shooting.bootstrap_return(
        terminated, 0.9, final_value=10.0) == pytest.approx(rewards_only)
    assert shooting.bootstrap_return(
        truncated, final_value=10.0) == pytest.approx(16.0)


def test_bootstrapping_asks_for_open_rollouts_values_in_one_request():
    # The pole is falling: some random rollouts terminate, some do not.
    env = _cartpole(state=(0.0, 0.0, 0.12, 0.5, None))
    agent = agents.ShootingAgent(n_rollouts=16, rollout_time_limit=8,
                                 n_envs=4,
                                 estimate_fn=shooting.bootstrap_return)
    agent.seed(0)
    agent.reset(env, None)
    state = env.clone_state()
    def constant_value(observations):
        return {'value': np.full((len(observations), 1), 100.0)}

    (_, info), predictions = _act(agent, predict=constant_value)
    assert env.clone_state() == state
    assert len(predictions) == 1
    n_open = len(predictions[0])
    assert predictions[0].shape == (n_open, 4)
    assert 0 < n_open < 16
    # Rewards are 1 per step: the returns sum to the rollout steps, and only
    # rollouts that did not terminate get the value 100 added.
    assert info['value'] == pytest.approx(
        (info['model_steps'] + 100.0 * n_open) / 16)
    agent.close()


# ---------------------------------------------------------------------------
# Continuous actions: random shooting and CEM.
# ---------------------------------------------------------------------------

def _check_plans_within_bounds_and_restores(agent, env, n_steps=5):
    agent.seed(0)
    observation = env.restore_state(env.clone_state())
    agent.reset(env, observation)
    total_model_steps = 0
    for _ in range(n_steps):
        state = env.clone_state()
        (action, info), predictions = _act(agent)
        assert env.clone_state() == state and not predictions
        assert action.shape == (1,) and action.dtype == np.float32
        assert env.action_space.contains(action)
        assert np.isfinite(info['value'])
        total_model_steps += info['model_steps']
        env.step(action)
    return total_model_steps


def test_random_shooting_in_box_spaces_stays_in_bounds_and_restores():
    agent = agents.ShootingAgent(n_rollouts=20, rollout_time_limit=10)
    assert _check_plans_within_bounds_and_restores(
        agent, _pendulum()) == 5 * 20 * 10
    with pytest.raises(ValueError, match='rollout_time_limit'):
        agents.ShootingAgent().reset(_pendulum(), None)


def test_cem_stays_in_bounds_and_restores():
    agent = agents.CEMAgent(horizon=10, n_iterations=3, population_size=10,
                            init_std=2.0)
    assert _check_plans_within_bounds_and_restores(
        agent, _pendulum()) == 5 * 3 * 10 * 10


def test_random_shooting_bootstraps_in_one_request():
    def best_value(estimate_fn):
        agent = agents.ShootingAgent(n_rollouts=6, rollout_time_limit=4,
                                     estimate_fn=estimate_fn)
        agent.seed(0)
        env = _pendulum()
        agent.reset(env, None)
        (_, info), predictions = _act(
            agent, predict=lambda observations: {
                'value': np.full((len(observations), 1), 1000.0)})
        return info['value'], predictions

    plain, no_requests = best_value(shooting.truncated_return)
    bootstrapped, requests = best_value(shooting.bootstrap_return)
    assert not no_requests
    assert len(requests) == 1 and requests[0].shape == (6, 3)
    assert bootstrapped == pytest.approx(plain + 1000.0)


def test_cem_finds_better_plans_than_random_shooting_on_equal_budget():
    # The pendulum swinging up from the side: 300 sequences of 30 steps
    # each side; the best return found, over 5 seeds.
    def best_values(agent):
        values = []
        for seed in range(5):
            agent.seed(seed)
            env = _pendulum(state=(2.0, 1.0))
            agent.reset(env, None)
            (_, info), _ = _act(agent)
            values.append(info['value'])
        return np.array(values)

    random_values = best_values(agents.ShootingAgent(
        n_rollouts=300, rollout_time_limit=30))
    cem_values = best_values(agents.CEMAgent(
        horizon=30, n_iterations=5, population_size=60))
    # About -195 against -155 when this was written.
    assert cem_values.min() > random_values.max() + 10.0


class _Targets(gymnasium.Env):  # pylint: disable=abstract-method
    """A 1-D model env: reward -(a - TARGETS[t mod 3])^2; the state is t."""

    TARGETS = (0.7, -0.3, 0.1)
    observation_space = gymnasium.spaces.Box(0, np.inf, (1,), np.float32)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self):
        self.t = 0

    def step(self, action):
        reward = -(float(action[0]) - self.TARGETS[self.t % 3]) ** 2
        self.t += 1
        return np.array([self.t], np.float32), reward, False, False, {}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0], np.float32), {}

    def clone_state(self):
        """The time step."""
        return self.t

    def restore_state(self, state):
        """Goes back to time step state."""
        self.t = state
        return np.array([state], np.float32)


def test_cem_elite_mean_moves_to_the_optimum_of_each_step():
    env = _Targets()
    observation, _ = env.reset()
    agent = agents.CEMAgent(horizon=3, n_iterations=8, population_size=100,
                            elite_fraction=0.1, init_std=1.0)
    agent.seed(0)
    agent.reset(env, observation)
    action, info = agent.act(observation)
    np.testing.assert_allclose(agent.plan_mean[:, 0], [0.7, -0.3, 0.1],
                               atol=0.03)
    assert action[0] == pytest.approx(0.7, abs=0.1)
    assert info['value'] >= info['elite_return'] > -0.05
    env.step(action)
    # Warm start: the next step begins from the fitted mean shifted by one
    # step, with the new last step at the centre of the bounds.
    agent.init_std = 1e-6
    agent.act(np.array([1], np.float32))
    np.testing.assert_allclose(agent.plan_mean[:, 0], [-0.3, 0.1, 0.0],
                               atol=0.03)
    # A fresh search one step later finds the shifted optimum.
    agent.init_std = 1.0
    agent.reset(env, np.array([1], np.float32))
    agent.act(np.array([1], np.float32))
    np.testing.assert_allclose(agent.plan_mean[:, 0], [-0.3, 0.1, 0.7],
                               atol=0.03)
    assert env.clone_state() == 1


def test_cem_rejects_unbounded_or_discrete_action_spaces():
    agent = agents.CEMAgent()
    with pytest.raises(TypeError, match='Box'):
        agent.reset(_cartpole(), None)
    env = _Targets()
    env.action_space = gymnasium.spaces.Box(-np.inf, np.inf, (1,))
    with pytest.raises(ValueError, match='infinite bounds'):
        agent.reset(env, None)


# ---------------------------------------------------------------------------
# The configs, end to end.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('config, bindings', [
    ('cem_pendulum.gin', ['CEMAgent.population_size = 8',
                          'CEMAgent.n_iterations = 2']),
    ('shooting_cartpole.gin', ['ShootingAgent.n_rollouts = 4']),
])
def test_config_runs_from_the_command_line(tmp_path, config, bindings):
    bindings = bindings + ['Runner.n_epochs = 1', 'Runner.n_envs = 1',
                 'Runner.episode_time_limit = 5']
    result = subprocess.run(
        [sys.executable, '-m', 'alpacka.runner',
         f'--config_file={os.path.join(CONFIGS, config)}',
         *(f'--config={binding}' for binding in bindings),
         f'--output_dir={tmp_path}'],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'), capture_output=True,
        text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert 'episode/return_mean' in result.stdout
    assert 'agent/value_mean' in result.stdout
    with open(run_directory.config_path(str(tmp_path)),
              encoding='utf-8') as config_file:
        assert 'Runner.episode_time_limit = 5' in config_file.read()
