"""Q-learning agents and acting policies, with real envs and steppers."""

import collections

import gymnasium
import numpy as np
import pytest
from coroutine_driver import drive

from alpacka import agents
from alpacka import envs
from alpacka.agents import q_learning
from alpacka.agents import q_policies
from alpacka.batch_steppers import local
from alpacka.networks import q_network
from alpacka.utils import schedules


def _q_values_preferring(action, n_actions=2):
    def predict(observations):
        q = np.zeros((len(observations), n_actions), np.float32)
        q[:, action] = 1.0
        return q
    return predict


def _play(agent, env, predict, n_episodes=1, evaluation=False):
    agent.evaluation = evaluation
    episodes = []
    for _ in range(n_episodes):
        episode, _ = drive(agent.solve(env), predict)
        episodes.append(episode)
    return episodes


def test_greedy_in_evaluation_and_random_phase_first():
    env = envs.CartPole()
    env.reset(seed=0)
    agent = agents.QAgent(policy=agents.EpsilonGreedyPolicy(epsilon=1.0),
                          n_random_steps=30)
    agent.seed(0)
    greedy = _play(agent, env, _q_values_preferring(1), evaluation=True)[0]
    assert np.all(greedy.transition_batch.action == 1)
    assert np.all(greedy.transition_batch.agent_info['policy'] == 0)
    trained = _play(agent, env, _q_values_preferring(1), n_episodes=6)
    policies = np.concatenate([e.transition_batch.agent_info['policy']
                               for e in trained])
    assert np.all(policies[:30] == q_learning.RANDOM_PHASE)
    assert np.all(policies[30:] == 0)


def test_episode_ids_differ_between_episodes_and_agents():
    env = envs.CartPole()
    env.reset(seed=0)
    ids = []
    for seed in (0, 1):
        agent = agents.QAgent()
        agent.seed(seed)
        for episode in _play(agent, env, _q_values_preferring(0), 3):
            episode_ids = episode.transition_batch.agent_info['episode_id']
            assert len(set(episode_ids.tolist())) == 1
            ids.append(int(episode_ids[0]))
    assert len(set(ids)) == 6


def test_epsilon_follows_a_schedule_of_env_steps():
    policy = agents.EpsilonGreedyPolicy(
        epsilon=schedules.LinearSchedule(start=1.0, end=0.0, n_steps=1000))
    rng = np.random.default_rng(0)
    q = [0.0, 1.0, 0.0, 0.0]

    def non_greedy_rate(env_steps):
        context = q_policies.ActingContext(env_steps)
        return np.mean([policy.choose(q, rng, context) != 1
                        for _ in range(4000)])

    # Random actions pick the greedy one a quarter of the time.
    assert non_greedy_rate(0) == pytest.approx(0.75, abs=0.03)
    assert non_greedy_rate(500) == pytest.approx(0.375, abs=0.03)
    assert non_greedy_rate(5000) == 0.0


def test_apex_epsilons():
    assert q_policies.apex_epsilon(0, 8) == pytest.approx(0.4)
    assert q_policies.apex_epsilon(7, 8) == pytest.approx(0.4 ** 8)
    assert q_policies.apex_epsilon(3, 8) == pytest.approx(0.4 ** (1 + 3.0))


def test_boltzmann_samples_softmax():
    policy = agents.BoltzmannPolicy(temperature=0.5)
    rng = np.random.default_rng(0)
    counts = collections.Counter(
        policy.choose([0.0, 0.5], rng, q_policies.ActingContext(0))
        for _ in range(6000))
    expected = np.exp(1.0) / (1.0 + np.exp(1.0))
    assert counts[1] / 6000 == pytest.approx(expected, abs=0.02)


def _mixture(**kwargs):
    return agents.PolicyMixtureAgent(
        policies=[agents.GreedyPolicy(), agents.RandomPolicy()], **kwargs)


def test_mixture_assigns_a_policy_per_episode_by_weights():
    env = envs.CartPole()
    env.reset(seed=0)
    agent = _mixture(weights=[0.8, 0.2])
    agent.seed(0)
    episodes = _play(agent, env, _q_values_preferring(0), 200)
    chosen = np.array([e.transition_batch.agent_info['policy'][0]
                       for e in episodes])
    for episode in episodes:  # One policy for a whole episode.
        assert len(set(episode.transition_batch.agent_info['policy'])) == 1
    assert np.mean(chosen == 0) == pytest.approx(0.8, abs=0.08)
    greedy_episodes = [e for e, p in zip(episodes, chosen) if p == 0]
    assert all(np.all(e.transition_batch.action == 0) for e in greedy_episodes)
    metrics = agent.compute_metrics(episodes)
    assert metrics['policy/0_greedy/episodes'] == np.sum(chosen == 0)
    assert metrics['policy/1_random/episodes'] == np.sum(chosen == 1)


def test_mixture_weights_follow_their_schedule():
    env = envs.CartPole()
    env.reset(seed=0)
    agent = _mixture(weights=schedules.LinearSchedule(
        start=[1.0, 0.0], end=[0.0, 1.0], n_steps=1))
    agent.seed(0)
    first = _play(agent, env, _q_values_preferring(0))[0]
    later = _play(agent, env, _q_values_preferring(0), 20)
    assert first.transition_batch.agent_info['policy'][0] == 0
    assert all(e.transition_batch.agent_info['policy'][0] == 1 for e in later)


def test_mixture_assign_env_keeps_one_policy_per_env():
    env = envs.CartPole()
    env.reset(seed=0)
    for seed in range(6):
        agent = _mixture(assign='env')
        agent.seed(seed)
        episodes = _play(agent, env, _q_values_preferring(0), 4)
        assert len({int(e.transition_batch.agent_info['policy'][0])
                    for e in episodes}) == 1


def test_mixture_weights_checked():
    with pytest.raises(ValueError, match='2 non-negative'):
        _mixture(weights=[1.0, 2.0, 3.0])


def test_continuous_actions_refused():
    with pytest.raises(TypeError, match='SoftActorCriticAgent'):
        agents.QAgent().network_signature(
            gymnasium.spaces.Box(-1, 1, (3,)), gymnasium.spaces.Box(-1, 1, (1,)))


def test_local_stepper_batches_agents_and_sets_actor_indices():
    env = envs.CartPole()
    signature = agents.QAgent().network_signature(env.observation_space,
                                                  env.action_space)

    def network_fn():
        return q_network.QNetwork(signature, hidden_sizes=(8,), seed=0)

    stepper = local.LocalBatchStepper(
        envs.CartPole, lambda: agents.QAgent(
            policy=agents.ApeXEpsilonGreedyPolicy()),
        network_fn, n_envs=4, seed=0)
    try:
        batch = stepper.run_steps(network_fn().params, n_steps=5, env_steps=0)
        assert batch.n_steps == 20
        assert stepper.n_predict_calls == 5  # One call per round for 4 agents.
        indices = [(agent.actor_index, agent.n_actors)
                   for agent in stepper._agents]  # pylint: disable=protected-access
        assert indices == [(0, 4), (1, 4), (2, 4), (3, 4)]
    finally:
        stepper.close()


def test_evaluation_epsilon_takes_random_actions_in_evaluation():
    env = envs.CartPole()
    env.reset(seed=0)
    agent = agents.QAgent(evaluation_epsilon=0.5)
    agent.seed(0)
    episodes = _play(agent, env, _q_values_preferring(1), 20, evaluation=True)
    actions = np.concatenate([e.transition_batch.action for e in episodes])
    # Half the steps random: a quarter take action 0.
    assert np.mean(actions == 0) == pytest.approx(0.25, abs=0.06)
