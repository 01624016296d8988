"""The search graph of DeterministicMCTSAgent: nodes, the walk down, backup.

The tree is a graph keyed by env state (a transposition table): a state
reached along two paths is one Node, with one set of statistics. Statistics
live on nodes, not edges:

* ``N(s)`` = ``node.count``: simulations that passed through s;
* ``V(s)`` = ``node.value``: before the first visit, the network's estimate
  (0 for terminal states); from then on the mean of the returns backed up
  through s;
* ``Q(s, a) = r(s, a) + discount * V(child)`` and ``N(s, a) = N(child)``.

A simulation backs up, from the last node of its path: ``max_a Q(s, a)`` if
it has just been expanded (a one-step lookahead over the children that the
expansion evaluated), 0 from a terminal node, ``dead_end_value`` from a node
whose every action leads back onto the path.

The walk down (``SearchGraph.select``) applies the rules of
``selection.py`` (PUCT or UCT on the graph's min-max Q scale) to these
statistics.

With ``tree_rule='value'`` the graph keeps the statistics of the original
Alpacka project's ``ScalarValueAccumulator`` instead, and walks by its rule:

* ``V(s)``: the mean of the node's first estimate and of every return backed
  up through it (the estimate counts as one sample);
* the walk takes ``argmax_a Q(s, a)``, ties at random, with no exploration
  term (``selection.select_child_by_value``);
* a simulation ending at a leaf (just expanded, or terminal) backs up the
  leaf's own ``V`` to the nodes above it, leaving the leaf's statistics as
  they were; a dead end backs up ``dead_end_value`` from itself.

All statistics change in one place, ``SearchGraph.backup``. The env is never
touched here: the agent (``deterministic_mcts.py``) expands
nodes with the perfect model and hands the results over.
"""

import math
import random
from typing import Dict, Hashable, List, Optional, Sequence, Tuple

from alpacka.agents import selection

TREE_RULES = ('puct', 'value')

# A path from the root: nodes [n_0, ..., n_k] and the rewards [r_0, ...,
# r_{k-1}] of the edges between them.
Path = Tuple[List['Node'], List[float]]


class Node:
    """A state of the search graph.

    Attributes:
        state: The env state (a hashable clone_state() snapshot).
        terminal: The episode ends on reaching this state: it is never
            expanded. Its value stays 0 when the transition terminated; when
            the env only truncated it, the value is the network's estimate.
        children: None until expanded; then the child Node of every action
            (index = action - action_space.start).
        rewards: The reward of every action's transition, aligned with
            children.
        prior: The policy prior over actions (a list of floats summing to 1),
            or None without a policy network (or before evaluation).
        count: N(s).
        value: V(s) (see the module docstring).
    """

    __slots__ = ('state', 'terminal', 'children', 'rewards', 'prior', 'count',
                 'value')

    def __init__(self, state: Hashable, terminal: bool = False,
                 value: float = 0.0, prior: Optional[List[float]] = None):
        self.state = state
        self.terminal = terminal
        self.children: Optional[List['Node']] = None
        self.rewards: Optional[List[float]] = None
        self.prior = prior
        self.count = 0
        self.value = value

    def __repr__(self) -> str:
        return (f'Node({self.state!r}, count={self.count}, '
                f'value={self.value:.4g}, terminal={self.terminal})')


class SearchGraph:
    """A transposition table of Nodes, walked by the selection rules, with the
    backup.

    Args:
        discount: Per-step discount (gamma).
        exploration_weight: c, the weight of the exploration term of PUCT
            and UCT (see alpacka.agents.selection) on Q rescaled to [0, 1]
            by the smallest and largest Q seen in this graph (the min-max Q
            scale).
        dead_end_value: The value backed up from a node none of whose actions
            may be taken (all lead back onto the current path).
        avoid_loops: Never select an action whose child is already on the
            current path.
        tree_rule: 'puct' (PUCT with priors, UCT without) or 'value' (the
            original project's rule and statistics; see the module docs).
        seed: Seeds the random tie-break of the 'value' rule.
    """

    def __init__(self, discount: float, exploration_weight: float,
                 dead_end_value: float, avoid_loops: bool,
                 tree_rule: str = 'puct', seed: Optional[int] = None):
        if tree_rule not in TREE_RULES:
            raise ValueError(f'tree_rule must be one of {TREE_RULES}, not '
                             f'{tree_rule!r}.')
        self.discount = discount
        self.exploration_weight = exploration_weight
        self.dead_end_value = dead_end_value
        self.avoid_loops = avoid_loops
        self.tree_rule = tree_rule
        self.rng = random.Random(seed)
        self.nodes: Dict[Hashable, Node] = {}
        self.q_min = math.inf
        self.q_max = -math.inf
        # reroot() drops unreachable nodes once the table outgrows this.
        self.min_prune_size = 4096
        self._prune_size = self.min_prune_size

    def clear(self) -> None:
        """Forgets every node and the Q bounds."""
        self.nodes = {}
        self.q_min = math.inf
        self.q_max = -math.inf
        self._prune_size = self.min_prune_size

    def reroot(self, state: Hashable) -> Optional[Node]:
        """Moves the root to state's node, keeping the graph below it.

        Nodes no longer reachable from the new root are dropped when the
        table has grown past twice its size after the last clean-up (and past
        min_prune_size): an amortised O(1) per node instead of a walk of the
        kept subtree at every move. Until then a transposition may still find
        such a node, which is harmless: its statistics are those of its state.

        Args:
            state: The new root's state.

        Returns:
            The root node, or None (and an empty graph) if state is not in the
            graph.
        """
        root = self.nodes.get(state)
        if root is None:
            self.clear()
            return None
        if len(self.nodes) > self._prune_size:
            self.nodes = self.reachable(root)
            self._prune_size = max(self.min_prune_size, 2 * len(self.nodes))
        return root

    @staticmethod
    def reachable(root: Node) -> Dict[Hashable, Node]:
        """The nodes reachable from root, by state."""
        kept = {root.state: root}
        frontier = [root]
        while frontier:
            children = frontier.pop().children
            if children is None:
                continue
            for child in children:
                if child.state not in kept:
                    kept[child.state] = child
                    frontier.append(child)
        return kept

    def qualities(self, node: Node) -> List[float]:
        """``Q(s, a)`` for every action of an expanded node: [n_actions]."""
        discount = self.discount
        return [reward + discount * child.value
                for reward, child in zip(node.rewards, node.children)]

    def select(self, root: Node, first_action: Optional[int] = None,
               root_prior: Optional[Sequence[float]] = None,
               above: Sequence[Node] = ()
               ) -> Tuple[List[Node], List[float], Optional[float]]:
        """Walks from root by the selection rule down to a leaf.

        At each expanded node the action is chosen among admissible actions
        (children not on the path, when avoiding loops) by PUCT when the node
        has a prior P, by UCT without one (``selection.select_child``), with

        * ``Q(a) = r(s, a) + discount * V(child)``;
        * ``n(a) = 1 + N(child)``: the evaluation of an unvisited child
          stands in for its first visit;
        * ``N = N(s)``, the simulations that passed through s;
        * the min-max Q scale over the bounds of this graph
          (``selection.minmax_q_scale(q_min, q_max)``).

        Args:
            root: Where to start.
            first_action: If given, the action taken at the root (Gumbel
                root selection); otherwise the root's action is chosen by the
                rule like the others.
            root_prior: If given, replaces root.prior in the root's PUCT
                choice (the prior with exploration noise).
            above: Nodes of the path above root, when a walk continues from
                a node it has reached (they count as on the path).

        Returns:
            ``(nodes, rewards, leaf_value)``: the path (see Path) and the value
            to back up from its last node: None if that node must first be
            expanded, ``V`` for a terminal node (0), ``dead_end_value`` for a
            node with no admissible action.
        """
        nodes = [root]
        rewards = []
        on_path = {root, *above} if self.avoid_loops else ()
        node = root
        if first_action is not None and root.children is not None:
            node = root.children[first_action]
            if node in on_path:
                return nodes, rewards, self.dead_end_value
            nodes.append(node)
            rewards.append(root.rewards[first_action])
            if on_path:
                on_path.add(node)
        q_scale = selection.minmax_q_scale(self.q_min, self.q_max)
        exploration_weight, discount = self.exploration_weight, self.discount
        select_child = selection.select_child
        by_value = self.tree_rule == 'value'
        while node.children is not None:
            prior = node.prior
            if node is root and root_prior is not None:
                prior = root_prior
            # PUCT with a prior, UCT without; None: no admissible action.
            if by_value:
                index = selection.select_child_by_value(
                    node.children, node.rewards, discount, self.rng, on_path)
            else:
                index = select_child(node.children, node.count,
                                     exploration_weight, q_scale, prior,
                                     node.rewards, discount, on_path)
            if index is None:
                return nodes, rewards, self.dead_end_value
            rewards.append(node.rewards[index])
            node = node.children[index]
            nodes.append(node)
            if on_path:
                on_path.add(node)
        if node.terminal:
            return nodes, rewards, node.value
        return nodes, rewards, None

    def leaf_value(self, node: Node, path: Sequence[Node]) -> float:
        """The value of a node just expanded: ``max_a Q(s, a)``.

        The max runs over actions that do not lead back onto the path
        (dead_end_value if there are none). The Q of every action, the
        network's estimates of unvisited children included, widens the Q
        bounds. With the 'value' rule: the node's own V.

        Args:
            node: The expanded node (the last of path).
            path: The nodes of the path from the root.
        """
        qualities = self.qualities(node)
        self.q_min = min(self.q_min, *qualities)
        self.q_max = max(self.q_max, *qualities)
        if self.tree_rule == 'value':
            return node.value
        best = -math.inf
        for quality, child in zip(qualities, node.children):
            if quality > best and not (self.avoid_loops and child in path):
                best = quality
        return self.dead_end_value if best == -math.inf else best

    @staticmethod
    def add_visits(nodes: List[Node], delta: int) -> None:
        """Adds delta to N of every node: a virtual visit (+1) marks a path
        selected but not yet backed up; -1 takes it back before the backup."""
        for node in nodes:
            node.count += delta

    def backup(self, nodes: List[Node], rewards: List[float],
               value: float, from_leaf: bool = True) -> None:
        """Adds one simulation's return to every node of its path.

        With G_k = value (the return estimated from the last node n_k on),
        ``G_i = r_i + discount * G_{i+1}`` is the return from n_i along the
        path; each n_i gets ``N += 1`` and ``V += (G_i - V) / N`` (so V is the
        mean of the G_i backed up through it, replacing the network estimate
        at the first visit). Each G_i (a sample of Q at the parent's edge, and
        of V at n_i) widens the Q bounds.

        The 'value' rule counts the first estimate as a sample of the mean
        (``V += (G_i - V) / (N + 1)``) and, from a leaf, leaves n_k as it was
        (G_k is its own V).

        Args:
            nodes: Path nodes [n_0, ..., n_k], k >= 0.
            rewards: Edge rewards [r_0, ..., r_{k-1}].
            value: G_k.
            from_leaf: G_k is the value of an expanded or terminal leaf, not
                a dead end's.
        """
        discount = self.discount
        q_min, q_max = self.q_min, self.q_max
        g = value
        index = len(nodes) - 1
        offset = 0
        if self.tree_rule == 'value':
            offset = 1
            if from_leaf:
                if index == 0:
                    return
                index -= 1
                g = rewards[index] + discount * g
        while True:
            node = nodes[index]
            count = node.count + 1
            node.count = count
            node.value += (g - node.value) / (count + offset)
            # Comparisons, not min()/max(): this loop runs at every level of
            # every simulation.
            if g < q_min:  # pylint: disable=consider-using-min-builtin
                q_min = g
            if g > q_max:  # pylint: disable=consider-using-max-builtin
                q_max = g
            if index == 0:
                break
            index -= 1
            g = rewards[index] + discount * g
        self.q_min, self.q_max = q_min, q_max
