"""DeterministicMCTSAgent: AlphaZero-style MCTS with a perfect model.

At every step the agent searches from the env's current state, using the env
itself as the model (``clone_state`` / ``restore_state``), then acts. One
simulation:

1. select: walk the search graph from the root by PUCT (or UCT without a
   policy network, or Gumbel sequential halving at the root) down to a node
   that is not expanded yet, or is terminal, or has no admissible action;
2. expand: step every action once from that node's state, creating (or, for
   states already in the graph, finding) its children, and evaluate all new
   children in ONE network request ``[n_new_children, *observation_shape]``
   (the value head gives V, the policy head the children's priors);
3. back up ``max_a Q(leaf, a)`` (``Q = r + discount * V(child)``) along the
   path (``search_graph.SearchGraph.backup``: the one place statistics change).

Because requests are yielded, LocalBatchStepper answers the requests of all
its agents in one ``predict`` per round. With no network (``use_policy`` and
``use_value_network`` both False) the search yields nothing and leaves are
worth 0: plain MCTS on the perfect model.

The graph and its statistics are in ``search_graph.py``; the selection rules
(PUCT, UCT, Gumbel, temperature and tie-break) in ``selection.py``.

The original Alpacka project's configs run unchanged: ``gamma`` is the
original's name of ``discount``; ``value_traits_class`` /
``ScalarValueTraits.dead_end_value`` set the dead-end value; and
``value_accumulator_class = ScalarValueAccumulator`` selects the original's
search (``mcts_values.py``): no policy, nodes rated by the mean of their
first estimate and the returns backed up through them, the walk and the
action greedy on ``r + gamma * V`` (ties at random), the root's mean as the
value target. ``n_leaves_to_expand`` and
``backpropagate_intermediate_expansion`` are the original's deepening
passes (a pass expands several leaves in a row), available to both rules.
"""

import itertools
from typing import Annotated, Any, Callable, Dict, Iterable, List, Optional

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.agents import core
from alpacka.agents import mcts_values
from alpacka.agents import planning_metrics
from alpacka.agents import search_graph
from alpacka.agents import selection
from alpacka.envs import spaces
from alpacka.utils import validation

ROOT_SELECTIONS = ('puct', 'gumbel')
# Up to this many logits in a request, the priors' softmax runs on Python
# floats (see _evaluate).
_PYTHON_SOFTMAX_MAX_SIZE = 32
GUMBEL_Q_BOUNDS = ('graph', 'root')

# The original project's names, importable from here as its configs say.
ScalarValueTraits = mcts_values.ScalarValueTraits
ScalarValueAccumulator = mcts_values.ScalarValueAccumulator


@validation.configurable(module='alpacka.agents')
class DeterministicMCTSAgent(base.OnlineAgent):
    """Monte Carlo tree search on a deterministic env used as its own model.

    The env must implement ``clone_state`` / ``restore_state`` with hashable
    states; after ``act`` it is left exactly in the state it was in before.

    Args:
        n_passes: Simulations per move (a simulation expands at most one node
            by stepping each of its actions once). Expanding a fresh root
            counts as one of them.
        discount: Per-step discount of the returns the search estimates
            (default 0.99).
        gamma: The original project's name of discount (give one of them).
        exploration_weight: c, the weight of the exploration term on the
            min-max Q scale (see alpacka.agents.selection): PUCT
            ``Q' + c * P(a) * sqrt(N(s)) / (1 + N(s, a))``, or UCT
            ``Q' + c * sqrt(ln N(s) / (1 + N(s, a)))``, where
            ``Q' = (Q - q_min) / (q_max - q_min)`` is Q rescaled to [0, 1] by
            the smallest and largest Q seen in the episode's search, so c does
            not depend on the reward scale.
        use_policy: Use the network's policy head (logits) as PUCT priors.
            If False there are no priors and selection is UCT. None (the
            default): True, except with value_accumulator_class (the
            original's search has no policy).
        use_value_network: Evaluate new nodes with the network's value head.
            If False, leaves are worth 0 ("zero-value leaves"); with
            use_policy also False the agent needs no network and never yields
            a request.
        dead_end_value: The value of a node none of whose actions may be
            taken because each leads back onto the current search path
            (default 0.0).
        value_traits_class: The original's way to set it:
            ``ScalarValueTraits`` (its ``dead_end_value``, default -2.0).
        value_accumulator_class: None: the statistics above (AlphaZero).
            ``ScalarValueAccumulator``: the original project's search (see
            the module docs and ``mcts_values``): the tree and the action
            follow ``argmax_a r + discount * V(child)``, ties at random;
            exploration_weight, root noise, temperature and root_selection
            do not apply, and the search needs a value network
            (use_value_network) and no policy.
        avoid_loops: Do not take, in the search, an action that leads back to
            a state already on the current path (and do not count such an
            action's child in the root's visit distribution).
        reuse_tree: Keep the part of the graph below the chosen action for
            the next move (its statistics included).
        root_dirichlet_alpha: Concentration of the Dirichlet noise mixed into
            the root's priors in training (PUCT with a policy only).
        root_exploration_fraction: Weight of that noise:
            ``P = (1 - fraction) * P + fraction * Dirichlet(alpha)``; 0 turns
            it off. Never applied when ``self.evaluation``.
        temperature: In training the action is drawn with probability
            proportional to ``N(root, a) ** (1 / temperature)``; 0 (or
            ``self.evaluation``) takes the most visited action (ties: the
            best Q, then at random). Can be
            annealed with ``parameter_schedules={'temperature': fn(epoch)}``.
        root_selection: 'puct' (AlphaZero) or 'gumbel' (Danihelka et al.
            2022: Gumbel-top-k plus sequential halving at the root; see
            selection.py). With 'gumbel' the action is
            ``argmax g + logits + sigma(q)`` over the finalists (g = 0 in
            evaluation), the policy target is
            ``softmax(logits + sigma(completed_q))``, and Dirichlet noise and
            temperature are not used. Below the root, selection stays PUCT
            (UCT without a policy). With n_leaves_per_request > 1 a halving
            may rank the actions before the last few simulations of its
            phase are backed up.
        max_num_considered_actions: Gumbel: actions sampled at the root.
        gumbel_visit_offset: Gumbel: c_visit in
            ``sigma(q) = (c_visit + max_b N(b)) * c_scale * q`` (q rescaled
            to [0, 1] over the root's actions).
        gumbel_value_scale: Gumbel: c_scale in sigma. The larger, the more
            the choice and the policy target follow the search's Q over the
            prior (default 0.1, the value mctx uses by default).
        gumbel_q_bounds: Gumbel: how Q is rescaled to [0, 1] for sigma:
            'root' by the min and max of the root's completed Q values (as in
            mctx; with 2 actions any difference then becomes 0 vs 1), 'graph'
            by the Q bounds of the whole search graph (as PUCT does), so
            small differences stay small.
        n_leaves_per_request: Leaves selected, expanded and evaluated
            together, in one network request (each selected path gets a
            virtual visit so that the next selection tends elsewhere). More
            leaves per request mean fewer network calls, at some cost in
            search quality per simulation; 1 is plain sequential MCTS.
        n_leaves_to_expand: Leaves one simulation (the original's "pass")
            expands in a row: after expanding a leaf, the walk goes on from
            it by the rule to the next leaf, up to this many (or a terminal
            state or a dead end). Needs n_leaves_per_request = 1.
        backpropagate_intermediate_expansion: With n_leaves_to_expand > 1,
            back up after every expansion of the pass (each its own return
            along the path so far), not only from the last leaf.
        parameter_schedules: See Agent.

    agent_info per step:
        value: The root's value estimate V(root) after the search (float;
            with ScalarValueAccumulator, the original's target: the mean).
        action_histogram: [n_actions] float32 summing to 1: the visit
            distribution of the root's children (PUCT), or the improved
            policy (Gumbel). The policy target.
        qualities: [n_actions] float32, Q(root, a).
        model_steps: Env steps the search took on the model (int).
    """

    def __init__(
            self, n_passes: Annotated[int, validation.AtLeast(1)] = 50,
            discount: Annotated[
                Optional[float], validation.InRange(0, 1)] = None,
            exploration_weight: Annotated[float, validation.AtLeast(0)] = 1.0,
            use_policy: Optional[bool] = None,
            use_value_network: bool = True,
            dead_end_value: Optional[float] = None,
            avoid_loops: bool = True,
            reuse_tree: bool = True,
            root_dirichlet_alpha: Annotated[
                float, validation.GreaterThan(0)] = 0.3,
            root_exploration_fraction: Annotated[
                float, validation.InRange(0, 1)] = 0.25,
            temperature: Annotated[float, validation.AtLeast(0)] = 1.0,
            root_selection: Annotated[
                str, validation.OneOf(*ROOT_SELECTIONS)] = 'puct',
            max_num_considered_actions: Annotated[
                int, validation.AtLeast(1)] = 16,
            gumbel_visit_offset: Annotated[
                float, validation.AtLeast(0)] = 50.0,
            gumbel_value_scale: Annotated[
                float, validation.AtLeast(0)] = 0.1,
            gumbel_q_bounds: Annotated[
                str, validation.OneOf(*GUMBEL_Q_BOUNDS)] = 'graph',
            n_leaves_per_request: Annotated[int, validation.AtLeast(1)] = 1,
            gamma: Annotated[Optional[float], validation.InRange(0, 1)] = None,
            value_traits_class: Optional[Callable] = None,
            value_accumulator_class: Optional[Callable] = None,
            n_leaves_to_expand: Annotated[int, validation.AtLeast(1)] = 1,
            backpropagate_intermediate_expansion: bool = False,
            parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        discount = mcts_values.resolve_discount(discount, gamma)
        tree_rule = mcts_values.resolve_tree_rule(value_accumulator_class,
                                                  use_policy, root_selection)
        if use_policy is None:
            use_policy = tree_rule == 'puct'
        if n_leaves_to_expand > 1 and n_leaves_per_request > 1:
            raise validation.ArgumentError(
                f'DeterministicMCTSAgent.n_leaves_to_expand = '
                f'{n_leaves_to_expand} (leaves expanded in a row by one pass) '
                f'cannot be combined with n_leaves_per_request = '
                f'{n_leaves_per_request} (leaves of several passes evaluated '
                f'together): set one of them to 1.')
        self.n_passes = n_passes
        self.use_policy = use_policy
        self.use_value_network = use_value_network
        self.reuse_tree = reuse_tree
        self.root_dirichlet_alpha = root_dirichlet_alpha
        self.root_exploration_fraction = root_exploration_fraction
        self.temperature = temperature
        self.root_selection = root_selection
        self.max_num_considered_actions = max_num_considered_actions
        self.gumbel_visit_offset = gumbel_visit_offset
        self.gumbel_value_scale = gumbel_value_scale
        self.gumbel_q_bounds = gumbel_q_bounds
        self.n_leaves_per_request = n_leaves_per_request
        self.n_leaves_to_expand = n_leaves_to_expand
        self.backpropagate_intermediate_expansion = (
            backpropagate_intermediate_expansion)
        self._graph = search_graph.SearchGraph(
            discount, exploration_weight,
            mcts_values.resolve_dead_end_value(value_traits_class,
                                               dead_end_value),
            avoid_loops, tree_rule)
        self._env = None
        self._actions: List[Any] = []
        self._model_steps = 0
        self._root_prior: Optional[List[float]] = None

    # -- Public helpers. -------------------------------------------------

    @property
    def graph(self) -> search_graph.SearchGraph:
        """The search graph (for inspection and tests)."""
        return self._graph

    @property
    def root_prior(self) -> Optional[List[float]]:
        """The root priors used by the last PUCT search (noise included)."""
        return self._root_prior

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space
                          ) -> Optional[data.NetworkSignature]:
        """Observation -> value [1] (and policy logits [n_actions])."""
        n_actions = spaces.n_actions(action_space)
        if not (self.use_policy or self.use_value_network):
            return None
        value = data.TensorSignature(shape=(1,), dtype=np.float32)
        output = value
        if self.use_policy:
            output = {'value': value,
                      'policy': data.TensorSignature(shape=(n_actions,),
                                                     dtype=np.float32)}
        return data.NetworkSignature(input=spaces.signature(observation_space),
                                     output=output)

    # -- The protocol. ---------------------------------------------------

    def reset(self, env: gymnasium.Env, observation: Any) -> None:
        super().reset(env, observation)
        space = env.action_space
        n_actions = spaces.n_actions(space)
        self._env = env
        self._actions = [int(space.start) + index for index in range(n_actions)]
        self._graph.clear()
        if self._graph.tree_rule == 'value':
            # From the agent's generator, so that Runner.seed fixes the ties.
            self._graph.rng.seed(int(self._rng.integers(2 ** 63)))

    def act(self, observation: Any) -> base.Coroutine:
        env = self._env
        graph = self._graph
        root_state = env.clone_state()
        root = graph.reroot(root_state) if self.reuse_tree else None
        by_value = graph.tree_rule == 'value'
        if root is None:
            graph.clear()
            root = search_graph.Node(root_state)
            graph.nodes[root_state] = root
            if by_value and self.use_value_network:
                # The original rates a fresh root by the network first: its
                # estimate is the first sample of its mean (the value target).
                prediction = yield np.asarray([observation])
                self._evaluate([root], prediction)
        self._model_steps = 0
        n_simulations = self.n_passes
        if root.children is None:
            # The first simulation expands (and evaluates) the root.
            yield from self._simulate(root, observation, (None,))
            n_simulations -= 1

        if by_value:
            action_index, histogram = yield from self._value_search(
                root, observation, n_simulations)
        elif self.root_selection == 'gumbel':
            action_index, histogram = yield from self._gumbel_search(
                root, observation, n_simulations)
        else:
            action_index, histogram = yield from self._puct_search(
                root, observation, n_simulations)
        env.restore_state(root_state)

        return self._actions[action_index], {
            'value': float(root.value),
            'action_histogram': histogram.astype(np.float32),
            'qualities': np.asarray(graph.qualities(root), np.float32),
            'model_steps': self._model_steps,
        }

    # -- Simulations. ----------------------------------------------------

    @property
    def _needs_network(self) -> bool:
        return self.use_policy or self.use_value_network

    def _simulate(self, root: search_graph.Node, root_observation: Any,
                  first_actions: Iterable[Optional[int]],
                  root_prior: Optional[List[float]] = None
                  ) -> base.Coroutine:
        """Runs one simulation per element of first_actions.

        Simulations run n_leaves_per_request at a time: select that many
        leaves (each path gets a virtual visit, so the next selection tends
        elsewhere), expand them all, evaluate every new node in one request,
        then back each path up.

        Args:
            root: The search root.
            root_observation: Its observation (for evaluating a fresh root).
            first_actions: Per simulation, the action forced at the root, or
                None to select it by the rule.
            root_prior: Root priors for PUCT (with exploration noise).
        """
        graph = self._graph
        if self.n_leaves_to_expand > 1:
            for first_action in first_actions:
                yield from self._deepening_pass(root, root_observation,
                                                first_action, root_prior)
            return
        select, backup = graph.select, graph.backup
        leaf_value, add_visits = graph.leaf_value, graph.add_visits
        expand_and_evaluate = self._expand_and_evaluate
        expand, needs_network, unused = self._expand, self._needs_network, []
        first_actions = iter(first_actions)
        n_leaves = self.n_leaves_per_request
        virtual = n_leaves > 1
        while True:
            paths = []
            n_taken = 0
            for first_action in itertools.islice(first_actions, n_leaves):
                n_taken += 1
                nodes, rewards, value = select(root, first_action, root_prior)
                if value is None:
                    paths.append((nodes, rewards))
                    if virtual:
                        add_visits(nodes, 1)
                else:  # A terminal node or a dead end: nothing to expand.
                    backup(nodes, rewards, value, nodes[-1].terminal)

            if paths and needs_network:
                yield from expand_and_evaluate(
                    [nodes[-1] for nodes, _ in paths], root_observation)
            else:  # Nothing to evaluate: no coroutine to make.
                for nodes, _ in paths:
                    if nodes[-1].children is None:
                        expand(nodes[-1], unused, unused)

            for nodes, rewards in paths:
                if virtual:
                    add_visits(nodes, -1)
                backup(nodes, rewards, leaf_value(nodes[-1], nodes))
            if n_taken < n_leaves:
                return

    def _deepening_pass(self, root: search_graph.Node, root_observation: Any,
                        first_action: Optional[int],
                        root_prior: Optional[List[float]]) -> base.Coroutine:
        """One pass expanding up to n_leaves_to_expand leaves in a row.

        Walks to a leaf, expands and evaluates it, walks on from it by the
        same rule (the path so far still counts for loop avoidance), and so
        on; backs up from the last leaf, or after every expansion with
        backpropagate_intermediate_expansion.
        """
        graph = self._graph
        nodes, rewards, value = graph.select(root, first_action, root_prior)
        for expansion in range(self.n_leaves_to_expand):
            if value is not None:  # A terminal node or a dead end.
                graph.backup(nodes, rewards, value, nodes[-1].terminal)
                return
            leaf = nodes[-1]
            yield from self._expand_and_evaluate([leaf], root_observation)
            value = graph.leaf_value(leaf, nodes)
            if expansion == self.n_leaves_to_expand - 1:
                break
            if self.backpropagate_intermediate_expansion:
                graph.backup(nodes, rewards, value)
            more_nodes, more_rewards, value = graph.select(
                leaf, above=nodes[:-1])
            nodes = nodes + more_nodes[1:]
            rewards = rewards + more_rewards
        graph.backup(nodes, rewards, value)

    def _expand_and_evaluate(self, leaves: List[search_graph.Node],
                             root_observation: Any) -> base.Coroutine:
        """Expands the leaves not yet expanded; evaluates all new nodes in one
        request."""
        new_nodes, observations = [], []
        expand, use_policy = self._expand, self.use_policy
        for leaf in leaves:
            if leaf.children is None:  # Twice selected, expanded once.
                expand(leaf, new_nodes, observations)
                if leaf.prior is None and use_policy:
                    # A fresh root: evaluated with its children.
                    new_nodes.append(leaf)
                    observations.append(root_observation)
        if new_nodes and self._needs_network:
            predictions = yield np.asarray(observations)
            self._evaluate(new_nodes, predictions)

    def _expand(self, leaf: search_graph.Node, new_nodes: list,
                observations: list) -> None:
        """Steps every action from leaf's state and links the children.

        Appends the new non-terminal children that need a network evaluation
        to new_nodes and their observations to observations (nothing without
        a network). A child already in the table makes the graph a graph
        (``SearchGraph.has_transpositions``).
        """
        env = self._env
        restore, step, clone = env.restore_state, env.step, env.clone_state
        graph = self._graph
        # One hash of the state per child: a fresh node is offered to the
        # table, which keeps the one it has (a transposition) if any.
        setdefault = graph.nodes.setdefault
        evaluate = self._needs_network
        node_class = search_graph.Node
        state = leaf.state
        children, rewards = [], []
        for action in self._actions:
            restore(state)
            observation, reward, terminated, truncated, _ = step(action)
            child_state = clone()
            fresh = node_class(child_state, terminated or truncated)
            child = setdefault(child_state, fresh)
            if child is fresh:
                if evaluate and not terminated:
                    new_nodes.append(child)
                    observations.append(observation)
            else:
                graph.has_transpositions = True
            children.append(child)
            rewards.append(float(reward))
        leaf.children = children
        leaf.rewards = rewards
        self._model_steps += len(children)

    def _evaluate(self, nodes: List[search_graph.Node], predictions: Any) -> None:
        """Sets the nodes' value (and prior) from the network's predictions.

        The priors are ``softmax(logits)``: ``exp(logits - max)`` normalised
        by its sum (``core.softmax_weights``, or its operations and order in
        numpy for a large batch), stored as
        plain floats, which selection reads faster than numpy scalars. A few
        rows (the usual request: the children of one or a few leaves) are
        cheaper in Python floats than in numpy calls, a large batch the other
        way round; numpy's and math's exp agree to the bit here, so both
        give the same priors.

        Args:
            nodes: B nodes.
            predictions: {'value': [B, 1], 'policy': [B, n_actions]} with a
                policy, else [B, 1].
        """
        if self.use_policy:
            values = predictions['value']
            logits = predictions['policy']
            if logits.size > _PYTHON_SOFTMAX_MAX_SIZE:
                logits = np.asarray(logits, np.float64)
                weights = np.exp(logits - logits.max(axis=1, keepdims=True))
                priors = (weights / weights.sum(axis=1,
                                                keepdims=True)).tolist()
                for node, prior in zip(nodes, priors):
                    node.prior = prior
            else:
                softmax_weights = core.softmax_weights
                for node, row in zip(nodes, logits.tolist()):
                    weights = softmax_weights(row)
                    total = sum(weights)
                    node.prior = [weight / total for weight in weights]
        else:
            values = predictions
        if self.use_value_network:
            for node, value in zip(nodes, values.ravel().tolist()):
                node.value = value

    # -- Root selection rules. -------------------------------------------

    def _root_visits(self, root: search_graph.Node) -> np.ndarray:
        """N(root, a): [n_actions]; 0 for actions that loop back to the root."""
        avoid_loops = self._graph.avoid_loops
        return np.array([0.0 if avoid_loops and child is root else child.count
                         for child in root.children])

    def _value_search(self, root: search_graph.Node, observation: Any,
                      n_simulations: int) -> base.Coroutine:
        """The original project's search; returns (action index, visits).

        The action is the root's best-rated child (``r + discount * V``,
        ties at random; a child that loops back to the root only when every
        child does); the policy target is the root's visit distribution
        (one-hot on the action when no child was visited).
        """
        yield from self._simulate(root, observation,
                                  itertools.repeat(None, n_simulations))
        graph = self._graph
        children = root.children
        excluded = ((root,) if graph.avoid_loops and any(
            child is not root for child in children) else ())
        action_index = selection.select_child_by_value(
            children, root.rewards, graph.discount, graph.rng, excluded)
        visits = self._root_visits(root)
        if visits.sum() == 0:
            visits[action_index] = 1.0
        return action_index, visits / visits.sum()

    def _puct_search(self, root: search_graph.Node, observation: Any,
                     n_simulations: int) -> base.Coroutine:
        """PUCT at the root; returns (action index, visit distribution)."""
        prior = root.prior
        if (prior is not None and not self.evaluation
                and self.root_exploration_fraction > 0):
            fraction = self.root_exploration_fraction
            noise = self._rng.dirichlet([self.root_dirichlet_alpha] * len(prior))
            prior = ((1 - fraction) * np.asarray(prior) +
                     fraction * noise).tolist()
        self._root_prior = prior
        yield from self._simulate(root, observation,
                                  itertools.repeat(None, n_simulations),
                                  root_prior=prior)

        visits = self._root_visits(root)
        qualities = np.asarray(self._graph.qualities(root))
        if visits.sum() == 0:
            # No child was visited (n_passes == 1): act on the one-step Q.
            admissible = np.array([not (self._graph.avoid_loops and child is root)
                                   for child in root.children])
            if not admissible.any():
                admissible[:] = True
            visits = admissible.astype(np.float64)
            scores = np.where(admissible, qualities, -np.inf)
        else:
            scores = visits
        histogram = visits / visits.sum()
        if self.evaluation or self.temperature == 0:
            return selection.argmax_tie_break(scores, qualities,
                                              self._rng), histogram
        return selection.choose_action(visits, qualities, self.temperature,
                                       self._rng), histogram

    def _gumbel_search(self, root: search_graph.Node, observation: Any,
                       n_simulations: int) -> base.Coroutine:
        """Gumbel root selection; returns (action index, improved policy)."""
        n_actions = len(self._actions)
        with np.errstate(divide='ignore'):
            logits = (np.log(np.asarray(root.prior)) if root.prior is not None
                      else np.zeros(n_actions))
        if self._graph.avoid_loops:
            loops = np.array([child is root for child in root.children])
            if not loops.all():
                logits = np.where(loops, -np.inf, logits)
        noise = (np.zeros(n_actions) if self.evaluation
                 else self._rng.gumbel(size=n_actions))

        def sigma_q() -> np.ndarray:
            visits = self._root_visits(root)
            completed = selection.completed_q(
                np.asarray(self._graph.qualities(root)), visits, root.value)
            if self.gumbel_q_bounds == 'graph':
                rescaled = selection.minmax_rescale(completed, self._graph.q_min,
                                          self._graph.q_max)
            else:
                rescaled = selection.minmax_rescale(completed)
            return selection.sigma(rescaled, visits, self.gumbel_visit_offset,
                                self.gumbel_value_scale)

        considered = selection.gumbel_top_k(
            logits, noise, min(self.max_num_considered_actions, n_actions))
        halving = selection.SequentialHalving(
            considered, n_simulations, lambda: noise + logits + sigma_q())
        yield from self._simulate(root, observation, halving)

        sigma = sigma_q()
        scores = noise + logits + sigma
        return (selection.gumbel_final_action(halving.remaining, scores),
                selection.improved_policy(logits, sigma))

    # -- Metrics. ----------------------------------------------------------

    @staticmethod
    def compute_metrics(episodes: List[data.Episode]) -> Dict[str, float]:
        infos = [episode.transition_batch.agent_info for episode in episodes]
        steps = np.concatenate([info['model_steps'] for info in infos])
        histograms = np.concatenate([info['action_histogram']
                                     for info in infos])
        with np.errstate(divide='ignore', invalid='ignore'):
            entropy = -np.nansum(histograms * np.log(histograms), axis=-1)
        return {**planning_metrics.planning_metrics(episodes),
                'model_steps': float(steps.sum()),
                'action_histogram_entropy_mean': float(entropy.mean())}
