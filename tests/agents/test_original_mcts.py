"""The original Alpacka project's DeterministicMCTSAgent names and search."""

import random

import gin
import numpy as np
import pytest

from deterministic_mcts_helpers import (CORRIDOR, TRAP, TRAP_BEST_ACTION,
                                        TabularEnv, run_act)
from alpacka import agents
from alpacka import data
from alpacka import networks
from alpacka.agents import deterministic_mcts
from alpacka.agents import search_graph
from alpacka.agents import selection
from alpacka.utils import validation

ORIGINAL_BINDINGS = """
DeterministicMCTSAgent.gamma = 0.9
DeterministicMCTSAgent.n_passes = 12
DeterministicMCTSAgent.avoid_loops = True
DeterministicMCTSAgent.value_traits_class = \\
    @alpacka.agents.deterministic_mcts.ScalarValueTraits
ScalarValueTraits.dead_end_value = -3.0
DeterministicMCTSAgent.value_accumulator_class = \\
    @alpacka.agents.deterministic_mcts.ScalarValueAccumulator
"""


class TableValueNetwork(networks.Network):
    """Predicts a value per TabularEnv state (by its observation index)."""

    def __init__(self, network_signature: data.NetworkSignature,
                 values_by_index: dict):
        super().__init__(network_signature)
        self._values = values_by_index
        self.batch_sizes = []

    def predict(self, inputs):
        self.batch_sizes.append(len(inputs))
        return np.array([[self._values.get(int(x[0]), 0.0)] for x in inputs],
                        np.float32)

    @property
    def params(self):
        return None

    @params.setter
    def params(self, new_params):
        del new_params


def _value_agent(**kwargs):
    kwargs.setdefault('discount', 1.0)
    return agents.DeterministicMCTSAgent(
        value_accumulator_class=deterministic_mcts.ScalarValueAccumulator,
        **kwargs)


def _play(agent, env, values):
    """Resets and acts once; returns (action, info, network)."""
    observation, _ = env.reset(seed=0)
    agent.seed(0)
    agent.reset(env, observation)
    network = TableValueNetwork(
        agent.network_signature(env.observation_space, env.action_space),
        {env._index[state]: value  # pylint: disable=protected-access
         for state, value in values.items()})
    action, info, _ = run_act(agent, observation, network)
    return action, info, network


def test_original_bindings_load_and_mean_what_they_meant():
    with gin.unlock_config():
        gin.clear_config()
        gin.parse_config(ORIGINAL_BINDINGS)
    try:
        agent = agents.DeterministicMCTSAgent()
    finally:
        gin.clear_config()
    graph = agent.graph
    assert (graph.discount, graph.dead_end_value, graph.tree_rule) == (
        0.9, -3.0, 'value')
    assert agent.n_passes == 12 and graph.avoid_loops
    assert not agent.use_policy
    env = TabularEnv(TRAP)
    signature = agent.network_signature(env.observation_space,
                                        env.action_space)
    assert signature.output == data.TensorSignature(shape=(1,),
                                                    dtype=np.float32)
    # Without the original's names nothing changes.
    default = agents.DeterministicMCTSAgent()
    assert (default.graph.discount, default.graph.dead_end_value,
            default.graph.tree_rule, default.use_policy) == (
                0.99, 0.0, 'puct', True)
    assert deterministic_mcts.ScalarValueTraits().dead_end == -2.0


@pytest.mark.parametrize('kwargs, match', [
    ({'gamma': 0.9, 'discount': 0.9}, 'gamma is the original'),
    ({'dead_end_value': -1.0,
      'value_traits_class': deterministic_mcts.ScalarValueTraits},
     'bind one of them'),
    ({'value_accumulator_class': dict}, 'only accumulator implemented'),
    ({'value_accumulator_class': deterministic_mcts.ScalarValueAccumulator,
      'use_policy': True}, 'use_policy = True'),
    ({'value_accumulator_class': deterministic_mcts.ScalarValueAccumulator,
      'root_selection': 'gumbel'}, "root_selection = 'gumbel'"),
    ({'n_leaves_to_expand': 2, 'n_leaves_per_request': 2}, 'set one of them'),
])
def test_conflicting_or_unknown_original_settings_are_one_paragraph(kwargs,
                                                                    match):
    with pytest.raises(validation.ArgumentError, match=match) as raised:
        agents.DeterministicMCTSAgent(**kwargs)
    assert '\n' not in str(raised.value)


def test_value_rule_backup_is_the_accumulators_mean():
    graph = search_graph.SearchGraph(discount=0.5, exploration_weight=1.0,
                                     dead_end_value=-2.0, avoid_loops=True,
                                     tree_rule='value')
    first = {'a': 1.0, 'b': 2.0, 'c': 4.0}
    nodes = [search_graph.Node(name, value=value)
             for name, value in first.items()]
    expected = {name: deterministic_mcts.ScalarValueAccumulator(value)
                for name, value in first.items()}
    # From a leaf: the leaf's own value goes up; the leaf is left alone.
    graph.backup(nodes, [1.0, 3.0], nodes[-1].value)
    expected['b'].add(3.0 + 0.5 * 4.0)
    expected['a'].add(1.0 + 0.5 * (3.0 + 0.5 * 4.0))
    # A dead end at b: its value is backed up from b itself.
    graph.backup(nodes[:2], [1.0], graph.dead_end_value, from_leaf=False)
    expected['b'].add(-2.0)
    expected['a'].add(1.0 + 0.5 * -2.0)
    for node in nodes:
        assert node.value == pytest.approx(expected[node.state].get())
    assert [node.count for node in nodes] == [2, 2, 0]
    # A one-node path from a leaf changes nothing.
    graph.backup(nodes[:1], [], 7.0)
    assert nodes[0].value == pytest.approx(expected['a'].get())


def test_select_child_by_value_is_greedy_with_random_ties():
    children = [search_graph.Node(i, value=value)
                for i, value in enumerate([1.0, 2.0, 2.0, 2.0, 0.0])]
    rewards = [0.0, 0.0, 0.0, 0.0, 2.5]
    rng = random.Random(0)
    counts = np.bincount([selection.select_child_by_value(
        children, rewards, 0.5, rng) for _ in range(3000)], minlength=5)
    # Q = [0.5, 1, 1, 1, 2.5]: action 4 always.
    assert counts.tolist() == [0, 0, 0, 0, 3000]
    rewards[4] = 0.0
    counts = np.bincount([selection.select_child_by_value(
        children, rewards, 0.5, rng) for _ in range(3000)], minlength=5)
    assert counts[0] == counts[4] == 0
    assert all(abs(count - 1000) < 120 for count in counts[1:4]), counts
    assert selection.select_child_by_value(
        children, rewards, 0.5, rng, excluded=children[1:3]) == 3
    assert selection.select_child_by_value(
        children, rewards, 0.5, rng, excluded=children) is None


def test_value_rule_follows_the_value_network_greedily():
    # Zero values: the trap's immediate reward wins and nothing pulls the
    # search elsewhere (the original rule has no exploration term).
    action, _, _ = _play(_value_agent(n_passes=20), TabularEnv(TRAP), {})
    assert action != TRAP_BEST_ACTION
    # Values that point to the goal: the search goes there and acts so.
    action, info, _ = _play(_value_agent(n_passes=20), TabularEnv(TRAP),
                            {'a1': 2.5, 'a2': 2.8})
    assert action == TRAP_BEST_ACTION
    # a2 -> goal pays 3, and the backed-up returns pull V(a1) towards it.
    assert info['qualities'][TRAP_BEST_ACTION] > 2.5


def test_value_rule_rates_a_fresh_root_and_reports_its_mean():
    env = TabularEnv(CORRIDOR)
    agent = _value_agent(n_passes=5)
    _, info, network = _play(agent, env, {'start': 0.5, 'c1': 0.7,
                                          'c2': 0.9})
    # The fresh root alone first, then one request per expansion.
    assert network.batch_sizes[0] == 1
    root = agent.graph.nodes['start']
    assert info['value'] == pytest.approx(root.value)
    # Every pass but the first (which expands the root itself) backs a
    # return up through the root.
    assert root.count == agent.n_passes - 1
    assert info['action_histogram'].sum() == pytest.approx(1.0)


@pytest.mark.parametrize('intermediate', [False, True])
def test_a_pass_expands_several_leaves_in_a_row(intermediate):
    env = TabularEnv(CORRIDOR)
    agent = agents.DeterministicMCTSAgent(
        n_passes=2, discount=1.0, use_policy=False, use_value_network=False,
        exploration_weight=0.0, n_leaves_to_expand=3,
        backpropagate_intermediate_expansion=intermediate)
    observation, _ = env.reset(seed=0)
    agent.seed(0)
    agent.reset(env, observation)
    run_act(agent, observation)
    # Pass 1 expands the root only (a fresh root); pass 2 expands c1 and
    # then c2 (start loops back onto the path and is skipped), then stops at
    # the terminal exit.
    expanded = {state for state, node in agent.graph.nodes.items()
                if node.children is not None}
    assert expanded == {'start', 'c1', 'c2'}
    root = agent.graph.nodes['start']
    # Backups through the root: 1 (pass 1) + 1 per backup of pass 2.
    assert root.count == (1 + 3 if intermediate else 1 + 1)
    assert root.value > 0  # The exit's reward reached the root.
