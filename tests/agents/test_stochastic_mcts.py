"""Tests for StochasticMCTSAgent, its leaf raters, SampledModel and
NoisyCartPole, on tiny MDPs whose action values are known."""

import functools
import os
import subprocess
import sys

import gymnasium
import numpy as np
import pytest

import stochastic_mcts_helpers as helpers
from coroutine_driver import drive
from alpacka import agents
from alpacka import batch_steppers
from alpacka import data
from alpacka import envs
from alpacka import metric_logging
from alpacka.agents import leaf_raters
from alpacka.agents import sampled_model
from alpacka.agents import stochastic_mcts
from alpacka.envs import noisy

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIG = os.path.join(REPO_ROOT, 'alpacka', 'configs',
                      'stochastic_mcts_noisy_cartpole.gin')


def _finish(coroutine, network=None):
    """Runs a coroutine to its end, answering requests with network."""
    return drive(coroutine,
                 predict=None if network is None else network.predict)[0]


def _act(agent, env, seed=0, network=None):
    """Resets env (seeded) and agent, then runs one act(); (action, info)."""
    observation, _ = env.reset(seed=seed)
    agent.reset(env, observation)
    return _finish(agent.act(observation), network)


def _agent(seed=0, **kwargs):
    agent = agents.StochasticMCTSAgent(**kwargs)
    agent.seed(seed)
    return agent


class _RecordingRater(leaf_raters.RolloutLeafRater):
    """A rollout rater that records the observations it rates."""

    def __init__(self):
        super().__init__(n_rollouts=1, rollout_time_limit=5)
        self.rated = []

    def rate(self, observation, model, discount):
        self.rated.append(np.asarray(observation).copy())
        return super().rate(observation, model, discount)


# ---------------------------------------------------------------------------
# The search on MDPs with known action values.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('risky_probability, best_action',
                         [(0.3, 0), (0.7, 1)])
@pytest.mark.parametrize('seed', range(4))
def test_estimates_expected_values_and_picks_the_better_action(
        risky_probability, best_action, seed):
    # Safe pays 0.5 surely; risky pays 1 with probability p. A search that
    # sees one outcome per state and action would rate risky at 0 or 1.
    agent = _agent(seed, n_passes=400, exploration_weight=2.0, discount=1.0)
    action, info = _act(agent, helpers.gamble_env(risky_probability), seed)
    assert info['qualities'][0] == pytest.approx(0.5)
    assert abs(info['qualities'][1] - risky_probability) < 0.1
    assert action == best_action


def test_without_fresh_randomness_the_search_is_fooled(monkeypatch):
    # The control for the test above: restoring a state without refreshing
    # the env's generator replays one outcome, and Q(risky) collapses to it.
    monkeypatch.setattr(sampled_model.SampledModel, 'restore',
                        lambda self, state: self.env.restore_state(state))
    estimates = set()
    for seed in range(4):
        agent = _agent(seed, n_passes=100, discount=1.0)
        _, info = _act(agent, helpers.gamble_env(0.3), seed)
        estimates.add(float(info['qualities'][1]))
    assert estimates <= {0.0, 1.0}


def test_chance_nodes_let_later_actions_depend_on_the_outcome():
    # Action 0 leads to A or B, each with its own best reply (value 1);
    # action 1 to C (value 0.6). An open-loop plan would rate action 0 at 0.5.
    agent = _agent(n_passes=400, discount=1.0)
    action, info = _act(agent, helpers.fork_env())
    assert action == 0
    assert info['qualities'][0] > 0.9
    assert info['qualities'][1] == pytest.approx(0.6)


def test_discount_applies_per_step():
    agent = _agent(n_passes=200, discount=0.5)
    _, info = _act(agent, helpers.fork_env())
    assert info['qualities'][1] == pytest.approx(0.5 * 0.6)
    assert 0.4 < info['qualities'][0] <= 0.5


def test_terminal_states_are_never_expanded():
    # TabularEnv raises if stepped after its episode ended.
    rater = _RecordingRater()
    agent = _agent(n_passes=300, leaf_rater=rater, discount=1.0)
    _act(agent, helpers.fork_env())
    rated_states = {int(np.argmax(observation)) for observation in rater.rated}
    assert rated_states == {0, 1, 2, 3}  # Never 4, the terminal state.
    assert len(rater.rated) == 4  # Each state's node expanded once.

    rater = _RecordingRater()
    _act(_agent(n_passes=50, leaf_rater=rater), helpers.gamble_env(0.5))
    assert len(rater.rated) == 1  # Only the root: every outcome is terminal.


def test_model_truncation_ends_the_search_branch():
    env = envs.TimeLimitWrapper(helpers.chain_env(), max_episode_steps=3)
    rater = _RecordingRater()
    agent = _agent(n_passes=100, discount=1.0, leaf_rater=rater)
    _, info = _act(agent, env)
    # The root and the nodes 1 and 2 steps deep get expanded (one per action
    # path: the chain has a single outcome); the truncated ones 3 steps deep
    # never do.
    assert len(rater.rated) == 1 + 2 + 4
    assert info['qualities'] == pytest.approx([3.0, 3.0])


# ---------------------------------------------------------------------------
# The env after act(), and the model's randomness.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('env_fn', [
    functools.partial(noisy.NoisyCartPole, flip_probability=0.3),
    functools.partial(helpers.gamble_env, 0.5),
    functools.partial(envs.GymEnv, env_id='FrozenLake-v1', is_slippery=True),
], ids=['noisy_cartpole', 'tabular', 'gym_frozen_lake'])
def test_env_is_exactly_restored_after_act(env_fn):
    env, twin = env_fn(), env_fn()
    observation, _ = env.reset(seed=3)
    twin.reset(seed=3)
    agent = _agent(n_passes=20)
    agent.reset(env, observation)
    rng_before = sampled_model.rng_owner(env).np_random
    action, _ = _finish(agent.act(observation))
    assert sampled_model.rng_owner(env).np_random is rng_before
    for _ in range(5):  # The same outcomes as an env that never planned.
        step, twin_step = env.step(action), twin.step(action)
        np.testing.assert_array_equal(step[0], twin_step[0])
        assert step[1:4] == twin_step[1:4]
        if step[2]:
            break


@pytest.mark.parametrize('env_fn, action', [
    (functools.partial(helpers.gamble_env, 0.3), 1),
    (functools.partial(envs.GymEnv, env_id='FrozenLake-v1',
                       is_slippery=True), 2),
], ids=['tabular', 'gym_frozen_lake'])
def test_model_samples_fresh_outcomes_after_each_restore(env_fn, action):
    env = env_fn()
    env.reset(seed=0)
    state = env.clone_state()
    replayed = set()
    for _ in range(20):  # Plain restores replay the same outcome.
        env.restore_state(state)
        replayed.add(np.asarray(env.step(action)[0]).tobytes())
    assert len(replayed) == 1

    model = sampled_model.SampledModel(env, seed=0)
    outcomes = []
    for _ in range(400):
        model.restore(state)
        observation, reward, *_ = model.step(action)
        outcomes.append((np.asarray(observation).tobytes(), reward))
    assert len(set(outcomes)) > 1
    assert model.n_steps == 400
    if isinstance(env, helpers.TabularEnv):
        assert np.mean([reward for _, reward in outcomes]) == pytest.approx(
            0.3, abs=0.07)


def test_noisy_cartpole_flips_and_replays_exactly():
    env = noisy.NoisyCartPole(flip_probability=0.25)
    env.reset(seed=0)
    start = env.clone_state()
    hash(start)
    clean = envs.CartPole()
    clean.restore_state(start[:-1])
    unflipped_x_dot = clean.step(1)[0][1]
    flips = 0
    for _ in range(400):  # The same push from the same physics, fresh dice.
        env.restore_state(start[:-1] + env.clone_state()[-1:])
        flips += int(env.step(1)[0][1] < unflipped_x_dot)
    assert flips / 400 == pytest.approx(0.25, abs=0.07)

    state = env.clone_state()
    trajectory = [env.step(i % 2)[0] for i in range(10)]
    env.restore_state(state)
    replay = [env.step(i % 2)[0] for i in range(10)]
    np.testing.assert_array_equal(trajectory, replay)
    with pytest.raises(ValueError, match='flip_probability'):
        noisy.NoisyCartPole(flip_probability=1.5)


# ---------------------------------------------------------------------------
# Leaf raters.
# ---------------------------------------------------------------------------

def test_rollout_rater_counts_steps_and_discounts():
    env = helpers.chain_env()  # Pays 1 per step, never ends.
    env.reset(seed=0)
    model = sampled_model.SampledModel(env, seed=0)
    rater = leaf_raters.RolloutLeafRater(n_rollouts=2, rollout_time_limit=3)
    qualities, prior = rater.rate(None, model, discount=0.5)
    assert prior is None
    assert qualities == pytest.approx([1.875, 1.875])  # 1 + .5 + .25 + .125
    assert model.n_steps == 2 * 2 * (1 + 3) == env.n_steps

    env = helpers.gamble_env(0.5)
    env.reset(seed=0)
    model = sampled_model.SampledModel(env, seed=0)
    leaf_raters.RolloutLeafRater(n_rollouts=3).rate(None, model, 1.0)
    assert model.n_steps == 2 * 3  # Rollouts stop where the episode ends.
    with pytest.raises(ValueError, match='n_rollouts'):
        leaf_raters.RolloutLeafRater(n_rollouts=0)


def test_network_signatures_come_from_the_rater():
    env = noisy.NoisyCartPole()
    spaces = (env.observation_space, env.action_space)
    assert _agent().network_signature(*spaces) is None
    value = _agent(leaf_rater=leaf_raters.ValueNetworkLeafRater)
    assert value.network_signature(*spaces).output.shape == (1,)
    assert value.network_signature(*spaces).input.shape == (4,)
    quality = _agent(leaf_rater=leaf_raters.QualityNetworkLeafRater)
    assert quality.network_signature(*spaces).output.shape == (2,)
    policy = _agent(
        leaf_rater=leaf_raters.QualityNetworkLeafRater(use_policy=True))
    output = policy.network_signature(*spaces).output
    assert {name: leaf.shape for name, leaf in output.items()} == {
        'qualities': (2,), 'policy': (2,)}


def _run_stepper(rater, outputs=None, n_envs=3, n_passes=5, time_limit=2):
    """Episodes of chain_env through LocalBatchStepper; (network, stepper)."""
    env = helpers.chain_env()
    signature = rater().network_signature(env.observation_space,
                                          env.action_space)
    network = helpers.CountingNetwork(signature, outputs)
    stepper = batch_steppers.LocalBatchStepper(
        env_class=helpers.chain_env,
        agent_class=functools.partial(agents.StochasticMCTSAgent,
                                      n_passes=n_passes, discount=0.9,
                                      leaf_rater=rater),
        network_fn=lambda: network, n_envs=n_envs, seed=0)
    episodes = stepper.run_episode_batch(None, time_limit=time_limit)
    assert len(episodes) == n_envs
    return network, stepper, episodes


def test_value_rater_batches_an_expansion_and_agents_into_one_request():
    # On the chain every simulation expands one new node: one request with
    # both actions' successors, for all 3 agents at once.
    network, stepper, episodes = _run_stepper(
        leaf_raters.ValueNetworkLeafRater, outputs={'': 10.0})
    assert network.batch_sizes == [3 * 2] * (5 * 2)
    assert stepper.n_predict_calls == 5 * 2
    # Q = r + discount * V = 1 + 0.9 * 10 at the first expansion.
    assert episodes[0].transition_batch.agent_info['qualities'].max() > 9.0


def test_quality_rater_asks_once_per_expansion_and_policy_steers_puct():
    # The chain's true Q is 1 / (1 - 0.9) = 10 for both actions.
    network, _, episodes = _run_stepper(
        functools.partial(leaf_raters.QualityNetworkLeafRater,
                          use_policy=True),
        outputs={'qualities': 10.0, 'policy': [0.9, 0.1]},
        n_envs=2, n_passes=40, time_limit=1)
    assert network.batch_sizes == [2] * 40
    histogram = episodes[0].transition_batch.agent_info['action_histogram'][0]
    assert histogram[0] > 0.75  # PUCT follows the prior when Q ties.

    _, _, episodes = _run_stepper(leaf_raters.QualityNetworkLeafRater,
                                  outputs={'': [10.0, 10.0]},
                                  n_envs=1, n_passes=40, time_limit=1)
    histogram = episodes[0].transition_batch.agent_info['action_histogram'][0]
    assert abs(histogram[0] - 0.5) < 0.1  # UCT without a prior.


def test_quality_and_policy_heads_from_a_keras_network():
    # The rater's dict signature builds a real KerasNetwork (softmax policy
    # head) whose batched dict predictions the stepper splits per agent.
    from alpacka.networks import keras as keras_networks  # pylint: disable=import-outside-toplevel
    rater = functools.partial(leaf_raters.QualityNetworkLeafRater,
                              use_policy=True)
    env = noisy.NoisyCartPole()
    network_fn = functools.partial(
        keras_networks.KerasNetwork,
        network_signature=rater().network_signature(env.observation_space,
                                                    env.action_space),
        model_fn=functools.partial(keras_networks.mlp, hidden_sizes=(8,),
                                   output_activation={'qualities': None,
                                                      'policy': 'softmax'}))
    stepper = batch_steppers.LocalBatchStepper(
        env_class=noisy.NoisyCartPole,
        agent_class=functools.partial(agents.StochasticMCTSAgent, n_passes=5,
                                      leaf_rater=rater),
        network_fn=network_fn, n_envs=2, seed=0)
    episodes = stepper.run_episode_batch(network_fn().params, time_limit=3)
    assert stepper.n_predict_calls == 3 * 5
    for episode in episodes:
        info = episode.transition_batch.agent_info
        assert info['qualities'].shape == (3, 2)
        np.testing.assert_allclose(info['action_histogram'].sum(axis=1), 1.0,
                                   rtol=1e-6)


def test_value_rater_skips_the_request_when_every_successor_is_terminal():
    env = helpers.gamble_env(0.5)
    network = helpers.CountingNetwork(
        leaf_raters.ValueNetworkLeafRater().network_signature(
            env.observation_space, env.action_space))
    agent = _agent(n_passes=10, discount=1.0,
                   leaf_rater=leaf_raters.ValueNetworkLeafRater)
    _act(agent, env, network=network)
    assert not network.batch_sizes


# ---------------------------------------------------------------------------
# The agent's outputs and modes.
# ---------------------------------------------------------------------------

def test_agent_info_shapes_and_metrics():
    agent = _agent(n_passes=10,
                   leaf_rater=functools.partial(
                       leaf_raters.RolloutLeafRater, rollout_time_limit=10))
    episode = _finish(agent.solve(noisy.NoisyCartPole(), time_limit=6))
    info = episode.transition_batch.agent_info
    assert info['qualities'].shape == (6, 2)
    assert info['action_histogram'].shape == (6, 2)
    np.testing.assert_allclose(info['action_histogram'].sum(axis=1), 1.0,
                               rtol=1e-6)
    assert info['value'].shape == (6,)
    assert np.all(info['model_steps'] > 0)
    metrics = agent.compute_metrics([episode])
    assert set(metrics) == {'value_mean', 'model_steps_per_step'}


def test_seeded_agents_play_identically():
    def play(seed):
        env = noisy.NoisyCartPole(flip_probability=0.2)
        env.reset(seed=seed)
        agent = _agent(seed, n_passes=8, leaf_rater=functools.partial(
            leaf_raters.RolloutLeafRater, rollout_time_limit=5))
        return _finish(agent.solve(env, time_limit=15))

    first, second = play(1), play(1)
    np.testing.assert_array_equal(first.transition_batch.action,
                                  second.transition_batch.action)
    np.testing.assert_array_equal(first.transition_batch.agent_info['value'],
                                  second.transition_batch.agent_info['value'])


def test_temperature_samples_and_evaluation_is_greedy():
    def actions(**kwargs):
        agent = _agent(n_passes=6, discount=1.0, **kwargs)
        return {_act(agent, helpers.gamble_env(0.3), seed)[0]
                for seed in range(30)}

    assert actions(temperature=1.0) == {0, 1}
    agent = _agent(n_passes=6, discount=1.0, temperature=1.0)
    agent.evaluation = True
    assert {_act(agent, helpers.gamble_env(0.0), seed)[0]
            for seed in range(30)} == {0}


def test_rejects_bad_knobs_and_envs_without_a_model():
    with pytest.raises(ValueError, match='n_passes'):
        agents.StochasticMCTSAgent(n_passes=0)
    env = gymnasium.make('CartPole-v1')
    observation, _ = env.reset(seed=0)
    with pytest.raises(TypeError, match='GymEnv'):
        agents.StochasticMCTSAgent().reset(env, observation)
    assert stochastic_mcts.StochasticMCTSAgent is agents.StochasticMCTSAgent


def test_plays_frozen_lake_through_the_gym_adapter():
    env = envs.GymEnv(env_id='FrozenLake-v1', is_slippery=True)
    env.reset(seed=0)
    agent = _agent(n_passes=10, leaf_rater=functools.partial(
        leaf_raters.RolloutLeafRater, rollout_time_limit=10))
    episode = _finish(agent.solve(env, time_limit=3))
    assert len(episode) >= 1
    assert isinstance(episode, data.Episode)

    # Planning through the adapter leaves the real env's randomness alone:
    # a fresh env, seeded alike, replays the episode from its actions.
    batch = episode.transition_batch
    twin = envs.GymEnv(env_id='FrozenLake-v1', is_slippery=True)
    twin.reset(seed=0)
    observation, _ = twin.reset()
    assert batch.observation[0] == observation
    for action, reward, next_observation in zip(batch.action, batch.reward,
                                                batch.next_observation):
        observation, twin_reward, terminated, _, _ = twin.step(int(action))
        assert (observation, twin_reward) == (next_observation, reward)
    assert bool(batch.terminated[-1]) == terminated
    # Returns of 0/1 rewards: the search's Q and V stay within [0, 1].
    assert np.all((batch.agent_info['qualities'] >= 0) &
                  (batch.agent_info['qualities'] <= 1))
    np.testing.assert_allclose(batch.agent_info['action_histogram'].sum(
        axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize('seed', range(3))
def test_reaches_the_goal_of_a_non_slippery_frozen_lake(seed):
    # With one outcome per action the search sees where the holes are: it
    # walks to the goal (the shortest path is 6 steps) without falling in.
    env = envs.GymEnv(env_id='FrozenLake-v1', is_slippery=False)
    env.reset(seed=seed)
    agent = _agent(seed, n_passes=30, discount=0.95,
                   leaf_rater=functools.partial(leaf_raters.RolloutLeafRater,
                                                n_rollouts=4,
                                                rollout_time_limit=20))
    episode = _finish(agent.solve(env, time_limit=12))
    assert episode.return_ == 1.0
    assert 6 <= len(episode) <= 12
    assert episode.transition_batch.terminated[-1]
    assert int(episode.transition_batch.next_observation[-1]) == 15  # Goal.


# ---------------------------------------------------------------------------
# The example config, end to end.
# ---------------------------------------------------------------------------

def test_example_config_runs_from_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, '-m', 'alpacka.runner', f'--config_file={CONFIG}',
         '--config=Runner.n_envs=2', '--config=Runner.episode_time_limit=5',
         '--config=Runner.n_epochs=1', '--config=StochasticMCTSAgent.n_passes=4',
         '--config=RolloutLeafRater.rollout_time_limit=5',
         f'--output_dir={tmp_path / "out"}'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        check=False, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
    assert result.returncode == 0, result.stderr
    names = set(metric_logging.read_series(str(tmp_path / 'out'), strict=True))
    assert {'episode/return_mean', 'agent/value_mean',
            'agent/model_steps_per_step'} <= names


def test_nan_estimates_select_the_first_action():
    # A network that answers NaN makes every selection score NaN; the search
    # then steps the first action, as it always did: after the root's
    # expansion both simulations take action 0 (n = 3 and 1).
    env = helpers.chain_env()
    network = helpers.CountingNetwork(
        leaf_raters.QualityNetworkLeafRater().network_signature(
            env.observation_space, env.action_space), {'': np.nan})
    agent = _agent(n_passes=3, leaf_rater=leaf_raters.QualityNetworkLeafRater)
    action, info = _act(agent, env, network=network)
    np.testing.assert_array_equal(info['action_histogram'], [0.75, 0.25])
    assert action == 0
