"""Every planner reports its planning cost under one name: model_steps."""

import functools

import numpy as np
import pytest

from alpacka import agents
from alpacka import batch_steppers
from alpacka import data
from alpacka import envs
from alpacka import networks
from alpacka.agents import planning_metrics

_PLANNERS = [
    (envs.CartPole, functools.partial(agents.ShootingAgent, n_rollouts=4,
                                      rollout_time_limit=5, n_envs=2)),
    (envs.Pendulum, functools.partial(agents.ShootingAgent, n_rollouts=4,
                                      rollout_time_limit=5)),
    (envs.Pendulum, functools.partial(agents.CEMAgent, horizon=4,
                                      population_size=6, n_iterations=2)),
    (envs.CartPole, functools.partial(agents.DeterministicMCTSAgent,
                                      n_passes=4, use_policy=False,
                                      use_value_network=False)),
    (envs.NoisyCartPole, functools.partial(agents.StochasticMCTSAgent,
                                           n_passes=4)),
]


@pytest.mark.parametrize('env_class, agent_fn', _PLANNERS)
def test_planners_log_model_steps_per_step(env_class, agent_fn):
    stepper = batch_steppers.LocalBatchStepper(
        env_class, agent_fn, lambda: networks.DummyNetwork(None), n_envs=2,
        seed=0)
    episodes = stepper.run_episode_batch(None, time_limit=3)
    steps = np.concatenate([episode.transition_batch.agent_info['model_steps']
                            for episode in episodes])
    assert steps.shape == (6,) and np.all(steps > 0)
    metrics = agent_fn().compute_metrics(episodes)
    assert metrics['model_steps_per_step'] == pytest.approx(steps.mean())
    stepper.close()


def test_planning_metrics_average_value_and_model_steps_over_steps():
    def episode(values, model_steps):
        n = len(values)
        batch = data.Transition(
            observation=np.zeros((n, 1)), action=np.zeros(n, int),
            reward=np.zeros(n), done=np.zeros(n, bool),
            next_observation=np.zeros((n, 1)),
            agent_info={'value': np.array(values),
                        'model_steps': np.array(model_steps)})
        return data.Episode(batch, return_=0.0)

    metrics = planning_metrics.planning_metrics(
        [episode([1.0, 2.0], [10, 20]), episode([6.0], [60])])
    assert metrics == {'value_mean': 3.0, 'model_steps_per_step': 30.0}
