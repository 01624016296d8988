"""Tests of DeterministicMCTSAgent on small trees with known answers."""

import functools
import os
import subprocess
import sys

import numpy as np
import pytest

from deterministic_mcts_helpers import (CAGE, CORRIDOR, DIAMOND, TRAP,
                                        TRAP_BEST_ACTION, ConstantNetwork,
                                        TabularEnv, run_act)
from alpacka import agents
from alpacka import batch_steppers
from alpacka import envs
from alpacka import metric_logging
from alpacka.agents import search_graph

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _zero_value_agent(**kwargs):
    """An agent that needs no network: UCT with zero-value leaves."""
    kwargs.setdefault('discount', 1.0)
    kwargs.setdefault('exploration_weight', 1.5)  # About UCT's sqrt(2).
    return agents.DeterministicMCTSAgent(use_policy=False,
                                         use_value_network=False, **kwargs)


def _start(agent, env):
    observation, _ = env.reset(seed=0)
    agent.seed(0)
    agent.reset(env, observation)
    return observation


def _act(agent, env, network=None, evaluation=True):
    agent.evaluation = evaluation
    observation = env.restore_state(env.clone_state())
    return run_act(agent, observation, network)


def _softmax(logits):
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def _network(agent, env, **kwargs):
    signature = agent.network_signature(env.observation_space,
                                        env.action_space)
    return ConstantNetwork(signature, **kwargs)


# -- Search quality on known trees. ---------------------------------------

def test_shallow_search_takes_the_trap_deeper_search_the_best_action():
    env = TabularEnv(TRAP)
    shallow = _zero_value_agent(n_passes=1)
    _start(shallow, env)
    assert _act(shallow, env)[0] == 1 - TRAP_BEST_ACTION

    deep = _zero_value_agent(n_passes=30)
    _start(deep, env)
    action, info, _ = _act(deep, env)
    assert action == TRAP_BEST_ACTION
    assert info['value'] > 1.0
    # Q is a mean of returns (the first backup through 'a1' saw 0).
    assert 2.5 < info['qualities'][TRAP_BEST_ACTION] <= 3.0


def test_deep_search_plays_the_best_episode():
    agent = _zero_value_agent(n_passes=30)
    agent.evaluation = True
    stepper = batch_steppers.LocalBatchStepper(
        functools.partial(TabularEnv, TRAP), lambda: agent, network_fn=None,
        n_envs=1, seed=0)
    episode, = stepper.run_episode_batch(None)
    assert episode.return_ == 3.0
    np.testing.assert_array_equal(episode.transition_batch.action, [1, 0, 0])


def test_env_is_left_as_it_was():
    env = envs.CartPole()
    agent = _zero_value_agent(n_passes=20, discount=0.99)
    _start(agent, env)
    for _ in range(3):
        before = env.clone_state()
        action, _, _ = _act(agent, env, evaluation=False)
        assert env.clone_state() == before
        twin = envs.CartPole()
        twin.reset(seed=0)
        twin.restore_state(before)
        np.testing.assert_array_equal(env.step(action)[0],
                                      twin.step(action)[0])


def test_env_in_a_time_limit_wrapper_keeps_its_step_count():
    env = envs.TimeLimitWrapper(envs.CartPole(), max_episode_steps=50)
    agent = _zero_value_agent(n_passes=20, discount=0.99)
    _start(agent, env)
    env.step(0)
    _act(agent, env)
    assert env.elapsed_steps == 1


def test_terminal_states_are_never_expanded():
    env = TabularEnv(TRAP)
    agent = _zero_value_agent(n_passes=200)
    _start(agent, env)
    _act(agent, env)
    stepped_from = {state for state, _ in env.steps}
    assert stepped_from == {'start', 'trap', 'a1', 'a2'}
    terminal_nodes = [node for state, node in agent.graph.nodes.items()
                      if env.is_terminal(state)]
    assert terminal_nodes and all(
        node.terminal and node.children is None and node.value == 0.0
        for node in terminal_nodes)
    # The search kept visiting the terminal nodes without stepping from them.
    assert sum(node.count for node in terminal_nodes) > 2


def test_transpositions_share_one_node_and_its_statistics():
    env = TabularEnv(DIAMOND)
    agent = _zero_value_agent(n_passes=40)
    _start(agent, env)
    _act(agent, env)
    nodes = agent.graph.nodes
    shared = nodes['shared']
    assert nodes['left'].children == [shared, shared]
    assert nodes['right'].children[0] is shared
    # 'shared' was expanded once: one step per action.
    assert [action for state, action in env.steps if state == 'shared'] == [0, 1]
    # Its visits came along both paths.
    assert shared.count > nodes['left'].count - 1
    assert shared.count > nodes['right'].count - 1


def _assert_no_repeated_node(graph):
    backup = graph.backup

    def checked_backup(nodes, rewards, value, *args):
        assert len(set(map(id, nodes))) == len(nodes), nodes
        backup(nodes, rewards, value, *args)

    graph.backup = checked_backup


def test_loops_are_avoided():
    env = TabularEnv(CORRIDOR)
    agent = _zero_value_agent(n_passes=50)
    _start(agent, env)
    _assert_no_repeated_node(agent.graph)
    action, info, _ = _act(agent, env)
    assert action == 1
    # The self-loop at the root is never visited.
    assert info['action_histogram'][0] == 0.0
    np.testing.assert_allclose(info['action_histogram'].sum(), 1.0)
    assert info['value'] > 0


def test_a_node_whose_every_action_loops_is_a_dead_end():
    env = TabularEnv(CAGE)
    agent = _zero_value_agent(n_passes=5, dead_end_value=-7.0)
    _start(agent, env)
    action, info, _ = _act(agent, env)
    assert action in (0, 1)
    assert info['value'] == -7.0
    np.testing.assert_allclose(info['action_histogram'], [0.5, 0.5])


def test_tree_is_reused_for_the_next_move():
    env = TabularEnv(DIAMOND)
    agent = _zero_value_agent(n_passes=30)
    _start(agent, env)
    _act(agent, env)
    nodes = agent.graph.nodes
    right, shared = nodes['right'], nodes['shared']
    right_count, shared_count = right.count, shared.count
    env.step(1)  # To 'right', whatever the agent chose.
    _act(agent, env)
    assert agent.graph.nodes['right'] is right
    assert right.count == right_count + 30
    # The subtree below 'right' is kept with its statistics.
    assert agent.graph.nodes['shared'] is shared
    assert shared.count > shared_count

    agent.reuse_tree = False
    _act(agent, env)
    assert agent.graph.nodes['right'] is not right


def test_unreachable_nodes_are_dropped_when_the_table_grows():
    env = TabularEnv(DIAMOND)
    agent = _zero_value_agent(n_passes=30)
    agent.graph.min_prune_size = 0
    _start(agent, env)
    _act(agent, env)
    env.step(1)
    _act(agent, env)
    assert set(agent.graph.nodes) == {'right', 'shared', 'deep', 'end'}

    graph = agent.graph
    graph.min_prune_size = 4096
    graph.clear()
    nodes = [search_graph.Node(index) for index in range(5000)]
    graph.nodes = {node.state: node for node in nodes}
    assert graph.reroot(7) is nodes[7]
    assert list(graph.nodes) == [7]
    assert graph.reroot(123) is None and not graph.nodes


# -- Exploration. ---------------------------------------------------------

def test_dirichlet_noise_only_in_training_and_sums_to_one():
    env = TabularEnv(TRAP)
    agent = agents.DeterministicMCTSAgent(
        n_passes=4, root_dirichlet_alpha=0.5, root_exploration_fraction=0.25)
    network = _network(agent, env, logits=(1.0, 0.0))
    clean = _softmax(np.array([1.0, 0.0]))

    _start(agent, env)
    _act(agent, env, network, evaluation=True)
    np.testing.assert_allclose(agent.root_prior, clean)

    noisy_priors = []
    for _ in range(5):
        _start(agent, env)
        _act(agent, env, network, evaluation=False)
        noisy_priors.append(agent.root_prior)
    noisy_priors = np.array(noisy_priors)
    np.testing.assert_allclose(noisy_priors.sum(axis=1), 1.0)
    assert not np.allclose(noisy_priors, clean)
    # The noise is mixed in with weight 0.25.
    assert np.all(np.abs(noisy_priors - clean) <= 0.25 + 1e-9)
    # The stored priors of the tree stay clean.
    np.testing.assert_allclose(agent.graph.nodes['start'].prior, clean)


def _actions_from_the_root(agent, n_moves, evaluation):
    env = TabularEnv(TRAP)
    _start(agent, env)
    agent.reuse_tree = False
    return [_act(agent, env, evaluation=evaluation)[0]
            for _ in range(n_moves)]


def test_temperature_zero_and_evaluation_take_the_most_visited_action():
    assert set(_actions_from_the_root(
        _zero_value_agent(n_passes=30, temperature=0.0), 20,
        evaluation=False)) == {TRAP_BEST_ACTION}
    assert set(_actions_from_the_root(
        _zero_value_agent(n_passes=30, temperature=100.0), 20,
        evaluation=True)) == {TRAP_BEST_ACTION}


def test_high_temperature_spreads_the_actions():
    actions = _actions_from_the_root(
        _zero_value_agent(n_passes=30, temperature=100.0), 60,
        evaluation=False)
    assert 15 < actions.count(TRAP_BEST_ACTION) < 45


def test_temperature_follows_a_parameter_schedule():
    agent = _zero_value_agent(
        n_passes=4, parameter_schedules={'temperature': lambda epoch: 1 / (1 + epoch)})
    env = TabularEnv(TRAP)
    coroutine = agent.solve(env, epoch=3)
    with pytest.raises(StopIteration):
        next(coroutine)
    assert agent.temperature == 0.25


# -- Batching. --------------------------------------------------------------

class _CountingAgent(agents.DeterministicMCTSAgent):
    """Counts the agent's requests and the rows they asked for."""

    def __init__(self):
        super().__init__(n_passes=10, discount=0.99)
        self.evaluation = True
        self.request_sizes = []

    def _evaluate(self, nodes, predictions):
        self.request_sizes.append(len(nodes))
        super()._evaluate(nodes, predictions)


@pytest.mark.parametrize('n_agents', [1, 4])
def test_requests_are_batched_one_predict_per_round(n_agents):
    signature = _CountingAgent().network_signature(
        envs.CartPole().observation_space, envs.CartPole().action_space)
    network = ConstantNetwork(signature)
    stepper = batch_steppers.LocalBatchStepper(
        envs.CartPole, _CountingAgent, lambda: network, n_envs=n_agents,
        seed=1)
    stepper.run_episode_batch(None, time_limit=10)
    # pylint: disable=protected-access
    sizes = [agent.request_sizes for agent in stepper._agents]
    # Every request evaluates the new children of one leaf (plus, on a fresh
    # root, the root): at most n_actions + 1 rows, n_actions at most times.
    all_sizes = [size for agent_sizes in sizes for size in agent_sizes]
    assert all_sizes[0] == 3 and set(all_sizes) <= {1, 2, 3}
    assert all_sizes.count(2) > len(all_sizes) / 2
    # All agents' requests of a round go to the network in one call.
    assert stepper.n_predict_calls == len(network.batch_sizes) == max(
        map(len, sizes))
    assert sum(network.batch_sizes) == sum(all_sizes)
    if n_agents > 1:
        assert max(network.batch_sizes) > 3


@pytest.mark.parametrize('n_leaves', [1, 4])
def test_several_leaves_per_request(n_leaves):
    env = envs.CartPole()
    agent = agents.DeterministicMCTSAgent(
        n_passes=21, n_leaves_per_request=n_leaves, use_policy=False)
    network = _network(agent, env)
    _start(agent, env)
    _, _, n_requests = _act(agent, env, network)
    # A fresh root takes one simulation (and request) to expand, then the
    # other 20 simulations go n_leaves per request.
    assert n_requests <= 1 + 20 // n_leaves
    assert max(network.batch_sizes) <= 2 * n_leaves
    # Virtual visits are taken back: N(root) counts real simulations only.
    assert agent.graph.nodes[env.clone_state()].count == 21

    trap = TabularEnv(TRAP)
    agent = _zero_value_agent(n_passes=32, n_leaves_per_request=n_leaves)
    _start(agent, trap)
    assert _act(agent, trap)[0] == TRAP_BEST_ACTION


def test_no_network_means_no_requests():
    env = envs.CartPole()
    agent = _zero_value_agent(n_passes=10)
    assert agent.network_signature(env.observation_space,
                                   env.action_space) is None
    _start(agent, env)
    assert _act(agent, env)[2] == 0


# -- Gumbel. ------------------------------------------------------------------

@pytest.mark.parametrize('q_bounds', ['graph', 'root'])
def test_gumbel_with_few_simulations_finds_the_best_action_and_improves_the_policy(
        q_bounds):
    env = TabularEnv(TRAP)
    agent = agents.DeterministicMCTSAgent(
        n_passes=8, discount=1.0, root_selection='gumbel',
        use_value_network=False, gumbel_q_bounds=q_bounds)
    # The prior prefers the trap.
    network = _network(agent, env, logits=(1.0, 0.0))
    prior = _softmax(np.array([1.0, 0.0]))
    for evaluation in (True, False):
        _start(agent, env)
        action, info, _ = _act(agent, env, network, evaluation=evaluation)
        assert action == TRAP_BEST_ACTION
        policy = info['action_histogram']
        np.testing.assert_allclose(policy.sum(), 1.0, rtol=1e-6)
        assert policy[TRAP_BEST_ACTION] > prior[TRAP_BEST_ACTION]
        assert policy[TRAP_BEST_ACTION] > 0.5


def test_puct_with_the_same_budget_follows_the_misleading_prior():
    env = TabularEnv(TRAP)
    agent = agents.DeterministicMCTSAgent(
        n_passes=4, discount=1.0, use_value_network=False,
        root_exploration_fraction=0.0, exploration_weight=4.0)
    network = _network(agent, env, logits=(3.0, 0.0))
    _start(agent, env)
    assert _act(agent, env, network)[0] == 1 - TRAP_BEST_ACTION


# -- agent_info, signature and the backup. ------------------------------------

def test_agent_info_shapes_and_sums_on_cartpole():
    agent = agents.DeterministicMCTSAgent(n_passes=6)
    env = envs.CartPole()
    network = _network(agent, env, logits=(0.2, -0.1), value=1.0)
    stepper = batch_steppers.LocalBatchStepper(
        envs.CartPole, lambda: agent, lambda: network, n_envs=1, seed=0)
    episode, = stepper.run_episode_batch(None, time_limit=7)
    info = episode.transition_batch.agent_info
    assert info['value'].shape == (7,)
    assert info['action_histogram'].shape == (7, 2)
    assert info['action_histogram'].dtype == np.float32
    np.testing.assert_allclose(info['action_histogram'].sum(axis=1), 1.0,
                               rtol=1e-6)
    assert info['qualities'].shape == (7, 2)
    assert np.all(info['model_steps'] > 0)
    metrics = agent.compute_metrics([episode])
    assert metrics['model_steps'] == info['model_steps'].sum()


def test_network_signature():
    env = envs.CartPole()
    signature = agents.DeterministicMCTSAgent().network_signature(
        env.observation_space, env.action_space)
    assert signature.input.shape == (4,)
    assert signature.output['value'].shape == (1,)
    assert signature.output['policy'].shape == (2,)
    value_only = agents.DeterministicMCTSAgent(use_policy=False)
    assert value_only.network_signature(
        env.observation_space, env.action_space).output.shape == (1,)


def test_backup_averages_discounted_returns():
    graph = search_graph.SearchGraph(discount=0.5, exploration_weight=1.0,
                                  dead_end_value=0.0, avoid_loops=True)
    root, middle, leaf = (search_graph.Node(name) for name in 'abc')
    graph.backup([root, middle, leaf], [1.0, 2.0], value=4.0)
    # G(leaf) = 4, G(middle) = 2 + 0.5 * 4 = 4, G(root) = 1 + 0.5 * 4 = 3.
    assert (leaf.value, middle.value, root.value) == (4.0, 4.0, 3.0)
    graph.backup([root, middle], [1.0], value=0.0)
    assert (middle.count, middle.value) == (2, 2.0)
    assert (root.count, root.value) == (2, 2.0)
    assert (graph.q_min, graph.q_max) == (0.0, 4.0)


def test_invalid_settings_are_clear_errors():
    with pytest.raises(ValueError, match='n_passes'):
        agents.DeterministicMCTSAgent(n_passes=0)
    with pytest.raises(ValueError, match="'puct', 'gumbel'"):
        agents.DeterministicMCTSAgent(root_selection='gumbell')
    with pytest.raises(ValueError, match='gumbel_q_bounds'):
        agents.DeterministicMCTSAgent(gumbel_q_bounds='tree')
    with pytest.raises(ValueError, match='n_leaves_per_request'):
        agents.DeterministicMCTSAgent(n_leaves_per_request=0)


def test_policy_loss_is_cross_entropy_from_logits():
    from alpacka.networks import keras as keras_networks  # pylint: disable=import-outside-toplevel
    targets = np.array([[0.25, 0.75], [1.0, 0.0]], np.float32)
    logits = np.array([[0.0, 0.0], [2.0, 0.0]], np.float32)
    losses = np.asarray(
        keras_networks.categorical_crossentropy_from_logits(targets, logits))
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(losses, -(targets * log_probs).sum(axis=1),
                               rtol=1e-5)


# -- End to end. ----------------------------------------------------------------

_E2E_CONFIG = """
Runner.env_class = @alpacka.envs.CartPole
Runner.agent_class = @alpacka.agents.DeterministicMCTSAgent
Runner.network_class = @alpacka.networks.KerasNetwork
Runner.trainer_class = @alpacka.trainers.SupervisedTrainer
Runner.n_envs = 2
Runner.episode_time_limit = 10
Runner.n_epochs = 2
Runner.seed = 0
DeterministicMCTSAgent.n_passes = 4
KerasNetwork.model_fn = @alpacka.networks.keras.mlp
mlp.hidden_sizes = (8,)
KerasNetwork.loss = {
    'value': 'mean_squared_error',
    'policy': @alpacka.networks.keras.categorical_crossentropy_from_logits}
SupervisedTrainer.target = {'value': @target_discounted_return,
                            'policy': @target_action_histogram}
SupervisedTrainer.batch_size = 8
SupervisedTrainer.n_steps_per_epoch = 3
"""


def test_runner_trains_a_network_on_mcts_targets(tmp_path):
    config = tmp_path / 'mcts.gin'
    config.write_text(_E2E_CONFIG, encoding='utf-8')
    output_dir = tmp_path / 'out'
    result = subprocess.run(
        [sys.executable, '-m', 'alpacka.runner', f'--config_file={config}',
         f'--output_dir={output_dir}'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        check=False, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
    assert result.returncode == 0, result.stderr
    series = metric_logging.read_series(str(output_dir), strict=True)
    losses = series['train/loss']
    assert sorted(losses) == [0, 1] and all(np.isfinite(list(losses.values())))
    assert 'agent/model_steps' in series


def test_old_module_paths_still_import():
    # pylint: disable=import-outside-toplevel
    from alpacka.agents import gumbel
    from alpacka.agents import mcts
    from alpacka.agents import mcts_tree
    from alpacka.agents import selection
    assert mcts.DeterministicMCTSAgent is agents.DeterministicMCTSAgent
    assert gumbel.rescale is selection.minmax_rescale
    assert gumbel.SequentialHalving is selection.SequentialHalving
    assert mcts_tree.SearchGraph is search_graph.SearchGraph
    assert mcts_tree.Node is search_graph.Node
