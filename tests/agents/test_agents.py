"""Tests for the agent protocol and the core agents."""

import gymnasium
import numpy as np
import pytest

from coroutine_driver import drive
from alpacka import agents
from alpacka import envs
from alpacka.utils import schedules


def _run(agent, env, network=None, **solve_kwargs):
    """Drives one solve() coroutine; (episode, number of requests)."""
    episode, requests = drive(agent.solve(env, **solve_kwargs),
                              predict=network)
    return episode, len(requests)


class _PlainAgent(agents.OnlineAgent):
    """Acts with a plain method: always action 1."""

    def act(self, observation):
        return 1, {'seen': np.float32(observation[0])}


class _YieldingAgent(agents.OnlineAgent):
    """Asks for a prediction every step and acts on it."""

    def act(self, observation):
        prediction = yield observation[np.newaxis]
        return int(prediction[0] > 0), {'prediction': prediction[0]}


def test_plain_act_is_adapted_and_episode_is_well_formed():
    env = envs.CartPole()
    env.reset(seed=0)
    episode, requests = _run(_PlainAgent(), env, time_limit=7)
    assert requests == 0
    batch = episode.transition_batch
    assert len(episode) == 7 and batch.observation.shape == (7, 4)
    np.testing.assert_array_equal(batch.action, np.ones(7))
    np.testing.assert_array_equal(batch.observation[1:],
                                  batch.next_observation[:-1])
    np.testing.assert_array_equal(batch.agent_info['seen'],
                                  batch.observation[:, 0])
    assert episode.truncated and batch.truncated[-1] and not batch.truncated[0]
    assert not batch.terminated.any() and batch.done[-1]
    assert episode.return_ == pytest.approx(batch.reward.sum())


def test_yielding_act_gets_the_prediction_back():
    env = envs.CartPole()
    env.reset(seed=0)
    def velocity(observations):
        return observations[:, 3]

    episode, requests = _run(_YieldingAgent(), env, network=velocity)
    batch = episode.transition_batch
    assert requests == len(episode)
    np.testing.assert_array_equal(batch.agent_info['prediction'],
                                  batch.observation[:, 3])
    np.testing.assert_array_equal(batch.action, batch.observation[:, 3] > 0)
    # Pushing towards the pole's fall speeds it up: a short episode.
    assert batch.terminated[-1] and not episode.truncated


def test_terminated_is_not_truncated():
    env = envs.CartPole()
    env.reset(seed=0)
    episode, _ = _run(_PlainAgent(), env)
    assert episode.transition_batch.terminated[-1]
    assert not episode.truncated
    assert not episode.transition_batch.truncated.any()


def test_postprocess_transitions_hook_rewrites_rewards():
    class DoublingAgent(_PlainAgent):
        """Doubles every reward."""

        def postprocess_transitions(self, transitions):
            return [t._replace(reward=2 * t.reward) for t in transitions]

    env = envs.CartPole()
    env.reset(seed=0)
    episode, _ = _run(DoublingAgent(), env, time_limit=5)
    np.testing.assert_array_equal(episode.transition_batch.reward, [2.0] * 5)
    assert episode.transition_batch.agent_info['seen'].shape == (5,)


def test_init_state_starts_from_the_cloned_state():
    env = envs.CartPole()
    env.reset(seed=5)
    env.step(1)
    state = env.clone_state()
    observation = env.restore_state(state)
    episode, _ = _run(_PlainAgent(), env, init_state=state, time_limit=3)
    np.testing.assert_array_equal(episode.transition_batch.observation[0],
                                  observation)


def test_random_agent_is_uniform_and_seeded():
    env = envs.CartPole()
    env.reset(seed=0)
    first, second = agents.RandomAgent(), agents.RandomAgent()
    first.seed(3)
    second.seed(3)
    episode_a, _ = _run(first, env, init_state=env.clone_state(),
                        time_limit=5)
    episode_b, _ = _run(second, env, init_state=env.clone_state(),
                        time_limit=5)
    np.testing.assert_array_equal(episode_a.transition_batch.action,
                                  episode_b.transition_batch.action)
    agent = agents.RandomAgent()
    agent.seed(0)
    agent.reset(env, None)
    counts = np.bincount([agent.act(None)[0] for _ in range(4000)])
    assert abs(counts[0] - 2000) < 200


def test_random_agent_samples_box_actions_within_bounds():
    env = envs.Pendulum()
    env.reset(seed=0)
    agent = agents.RandomAgent()
    agent.seed(0)
    episode, _ = _run(agent, env, time_limit=20)
    actions = episode.transition_batch.action
    assert actions.shape == (20, 1)
    assert np.all(np.abs(actions) <= 2.0) and np.std(actions) > 0.1


def test_softmax_and_epsilon_greedy_signatures_and_choices():
    space = gymnasium.spaces.Box(-1, 1, (4,), np.float32)
    signature = agents.SoftmaxAgent().network_signature(
        space, gymnasium.spaces.Discrete(3))
    assert signature.input.shape == (4,)
    assert signature.output.shape == (3,)
    with pytest.raises(TypeError, match='Discrete'):
        agents.SoftmaxAgent().network_signature(space, space)

    env = envs.CartPole()
    env.reset(seed=0)
    def always_right(observations):
        return np.tile([[-5.0, 5.0]], (len(observations), 1))

    greedy = agents.SoftmaxAgent(temperature=0.0)
    episode, _ = _run(greedy, env, network=always_right, time_limit=5)
    np.testing.assert_array_equal(episode.transition_batch.action, [1] * 5)
    exploring = agents.EpsilonGreedyAgent(epsilon=1.0)
    exploring.seed(0)
    episode, _ = _run(exploring, env, network=always_right, time_limit=40)
    assert 0 in episode.transition_batch.action
    metrics = exploring.compute_metrics([episode])
    assert metrics['logits_entropy_mean'] == pytest.approx(0.0, abs=1e-3)
    exploring.evaluation = True  # Measured, not exploring: greedy.
    for _ in range(5):
        episode, _ = _run(exploring, env, network=always_right, time_limit=8)
        np.testing.assert_array_equal(episode.transition_batch.action,
                                      [1] * len(episode))


def test_parameter_schedules_anneal_attributes():
    agent = agents.EpsilonGreedyAgent(parameter_schedules={
        'epsilon': schedules.LinearAnnealing(1.0, 0.0, n_epochs=4)})
    env = envs.CartPole()
    env.reset(seed=0)
    def constant(observations):
        return np.zeros((len(observations), 2))

    for epoch, expected in [(0, 1.0), (2, 0.5), (10, 0.0)]:
        _run(agent, env, network=constant, epoch=epoch, time_limit=1)
        assert agent.epsilon == pytest.approx(expected)
    broken = agents.EpsilonGreedyAgent(parameter_schedules={
        'epsilonn': schedules.LinearAnnealing(1.0, 0.0, n_epochs=4)})
    with pytest.raises(AttributeError, match='epsilonn'):
        _run(broken, env, network=constant, epoch=0)
