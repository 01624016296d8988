"""The original Alpacka project's value traits and accumulator, by name.

Configs written for the original DeterministicMCTSAgent say::

    DeterministicMCTSAgent.value_traits_class = \\
        @alpacka.agents.deterministic_mcts.ScalarValueTraits
    ScalarValueTraits.dead_end_value = -2.0
    DeterministicMCTSAgent.value_accumulator_class = \\
        @alpacka.agents.deterministic_mcts.ScalarValueAccumulator

These classes carry those names (Gin module
``alpacka.agents.deterministic_mcts``) and their meaning:

* ``ScalarValueTraits``: the values of special nodes, ``zero`` (a terminal
  state) and ``dead_end`` (a node whose every action leads back onto the
  search path);
* ``ScalarValueAccumulator``: a node's value is the mean of its first
  estimate (the network's, or ``zero``) and of every return backed up
  through it; that mean is what selection rates a node by, what is backed
  up from it and the value target. DeterministicMCTSAgent given this class
  searches by the original's rule (``SearchGraph(tree_rule='value')``): the
  graph keeps the same mean inline, on its nodes, rather than one object per
  node. The class itself computes it for one node (its tests check the graph
  against it).

The functions resolving DeterministicMCTSAgent's arguments between the
original's names and today's (``gamma`` / ``discount``, the traits /
``dead_end_value``, the accumulator / the tree rule) live here too.
"""

from typing import Callable, Optional

from alpacka.utils import validation

DEFAULT_DISCOUNT = 0.99


@validation.configurable(module='alpacka.agents.deterministic_mcts')
class ScalarValueTraits:
    """Values of the special nodes of a search with scalar values.

    Args:
        dead_end_value: The value of a dead end: a node none of whose actions
            may be taken because each leads back onto the search path (the
            original's default, -2.0, rates it below any path on rewards of
            order 1).

    Attributes:
        zero: The value of a terminal state, 0.0.
        dead_end: dead_end_value.
    """

    zero = 0.0

    def __init__(self, dead_end_value: float = -2.0):
        self.dead_end = float(dead_end_value)


@validation.configurable(module='alpacka.agents.deterministic_mcts')
class ScalarValueAccumulator:
    """The mean of a node's first estimate and the returns backed up to it.

    Args:
        value: The first estimate (counts as one sample).
    """

    def __init__(self, value: float):
        self._sum = 0.0
        self._count = 0
        self.add(value)

    def add(self, value: float) -> None:
        """Adds one backed-up return."""
        self._sum += float(value)
        self._count += 1

    def get(self) -> float:
        """The mean: the value backed up from this node."""
        return self._sum / self._count

    def index(self) -> float:
        """What selection rates the node by: the mean."""
        return self.get()

    def target(self) -> float:
        """The value-network target: the mean."""
        return self.get()

    def count(self) -> int:
        """Samples in the mean, the first estimate included."""
        return self._count


def resolve_dead_end_value(value_traits_class: Optional[type],
                   explicit_value: Optional[float]) -> float:
    """The dead-end value from DeterministicMCTSAgent's two ways to give it.

    Args:
        value_traits_class: The original's traits class, or None.
        explicit_value: ``dead_end_value``, or None.

    Returns:
        The value: the traits' ``dead_end``, the explicit value, or 0.0.

    Raises:
        ArgumentError: Both are given (two meanings for one number), or the
            traits have no scalar ``dead_end`` and ``zero == 0``.
    """
    if value_traits_class is None:
        return 0.0 if explicit_value is None else float(explicit_value)
    if explicit_value is not None:
        raise validation.ArgumentError(
            f'DeterministicMCTSAgent is given both dead_end_value = '
            f'{explicit_value!r} and value_traits_class = '
            f'{getattr(value_traits_class, "__name__", value_traits_class)}, '
            f'which sets the dead-end value too: bind one of them (the '
            f'original project\'s configs set ScalarValueTraits.dead_end_value).')
    traits = value_traits_class()
    dead_end = getattr(traits, 'dead_end', None)
    if not isinstance(dead_end, (int, float)) or getattr(
            traits, 'zero', None) != 0:
        raise validation.ArgumentError(
            f'DeterministicMCTSAgent.value_traits_class = '
            f'{getattr(value_traits_class, "__name__", value_traits_class)} '
            f'does not describe scalar values (a number dead_end and '
            f'zero = 0.0): use '
            f'@alpacka.agents.deterministic_mcts.ScalarValueTraits.')
    return float(dead_end)


def resolve_discount(discount: Optional[float], gamma: Optional[float]) -> float:
    """DeterministicMCTSAgent's discount, or its original name gamma (one of
    them), or 0.99.

    Raises:
        ArgumentError: Both are given.
    """
    if gamma is None:
        return DEFAULT_DISCOUNT if discount is None else discount
    if discount is not None:
        raise validation.ArgumentError(
            f'DeterministicMCTSAgent is given both discount = {discount!r} '
            f'and gamma = {gamma!r}: gamma is the original project\'s name '
            f'of discount; bind one of them.')
    return gamma


def resolve_tree_rule(value_accumulator_class: Optional[Callable],
               use_policy: Optional[bool], root_selection: str) -> str:
    """The SearchGraph tree_rule DeterministicMCTSAgent's arguments ask for:
    'value' for the original's ScalarValueAccumulator, else 'puct'.

    Raises:
        ArgumentError: Another accumulator, or one combined with policy
            priors or Gumbel root selection.
    """
    if value_accumulator_class is None:
        return 'puct'
    name = getattr(value_accumulator_class, '__name__',
                   repr(value_accumulator_class))
    binding = f'DeterministicMCTSAgent.value_accumulator_class = {name}'
    if value_accumulator_class is not ScalarValueAccumulator:
        raise validation.ArgumentError(
            f'{binding}: the only accumulator implemented is the original '
            f'project\'s mean, '
            f'@alpacka.agents.deterministic_mcts.ScalarValueAccumulator; '
            f'bind it, or leave value_accumulator_class unset for the '
            f'AlphaZero-style search.')
    if use_policy:
        raise validation.ArgumentError(
            f'{binding} selects the original project\'s search, which rates '
            f'nodes by value alone, but use_policy = True asks for policy '
            f'priors: drop one of the two bindings.')
    if root_selection != 'puct':
        raise validation.ArgumentError(
            f'{binding} selects the original project\'s greedy search, but '
            f'root_selection = {root_selection!r} asks for another root '
            f'rule: drop one of the two bindings.')
    return 'value'
