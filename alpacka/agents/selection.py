"""Selection rules of the MCTS agents: one meaning per parameter.

Both DeterministicMCTSAgent and StochasticMCTSAgent choose actions with
these functions: the tree rules PUCT and UCT, the Gumbel root rule
(Danihelka et al. 2022), temperature sampling of the action finally taken,
and the tie-break.

Notation, the same for every rule (arrays have shape ``[n_actions]``):

* ``Q(a)``: the action's value estimate, in units of return
  (``quality``: ``r(s, a) + discount * V(child)`` in a deterministic graph,
  the mean sampled return of a chance node in a stochastic tree).
* ``n(a) = 1 + N(s, a)``, where ``N(s, a)`` (``child.count``) is the
  number of simulations that took the action: the first estimate of the
  action (the leaf evaluation that created it) counts as one visit, so
  ``n(a) >= 1``.
* ``N``: the parent's visit count ``N(s)``; each agent documents what it
  counts.
* ``c`` = ``exploration_weight``: the weight of the exploration term on the
  chosen Q scale (below).
* The Q scale: Q is normalised before it meets the exploration term,
  ``Q' = (Q - q_min) / q_scale``. ``minmax_q_scale(q_min, q_max)`` rescales
  Q by the bounds of the values seen (so c does not depend on the reward
  scale); ``IDENTITY_Q_SCALE`` leaves Q in units of return.

Rules: the argmax over admissible actions of

* PUCT: ``Q'(a) + c * P(a) * sqrt(N) / n(a)``;
* UCT: ``Q'(a) + c * sqrt(ln N / n(a))``
  (both ``select_child``, ties to the lowest index);
* the original Alpacka project's value rule: ``Q(a)`` alone, ties at random
  (``select_child_by_value``).

``select_child`` computes ``Q(a) + c * q_scale * bonus(a)``, which is
``q_scale`` times the rule plus a constant: the same argmax without a
division per action. It reads the children's statistics (``.value``,
``.count``) directly, in plain Python floats: for a handful of actions that
is several times faster than numpy calls on tiny arrays or than building
lists first, and selection runs at every level of every simulation.

Gumbel (at the root only; ``gumbel_top_k``, ``SequentialHalving``,
``completed_q``, ``minmax_rescale``, ``sigma``, ``improved_policy``; see
``SequentialHalving`` for the schedule):

1. Gumbel-top-k: draw ``g ~ Gumbel(0, 1)`` per action and consider the ``m``
   actions with the largest ``g + logits`` (a sample of ``m`` actions without
   replacement from ``softmax(logits)``).
2. Sequential halving: split the simulation budget into ``ceil(log2 m)``
   phases; in each phase visit every remaining action equally often, then keep
   the better half by ``g + logits + sigma(q)``.
3. Act with the remaining action of largest ``g + logits + sigma(q)``, and
   train the policy towards ``softmax(logits + sigma(completed_q))``, where
   completed_q is Q for visited actions and the root's value estimate for the
   others; ``sigma(q) = (c_visit + max_b N(b)) * c_scale * q`` acts on Q
   rescaled to [0, 1] (min-max, by the root's completed Q values or by wider
   bounds such as those of the whole search graph).

The final action (``choose_action``) reads the root's visit counts as the
agent reports them in its policy target (``action_histogram``): with
temperature T > 0 it is drawn with probability proportional to
``visits(a) ** (1 / T)``; with T = 0 it is the most visited action, ties
broken by the larger Q, then uniformly at random (``argmax_tie_break``).
"""

import math
from typing import (Any, Callable, Container, Iterator, List, Optional,
                    Sequence)

import numpy as np

from alpacka.agents import core

# Q in units of return: the exploration weight is in units of return too.
IDENTITY_Q_SCALE = 1.0

# Below this spread the completed Q values are treated as equal (Gumbel).
_Q_EPSILON = 1e-8


# -- Q normalisation. ---------------------------------------------------------

def minmax_q_scale(q_min: float, q_max: float) -> float:
    """The min-max Q scale: ``q_max - q_min``, or 1 until they differ.

    With it, ``Q' = (Q - q_min) / (q_max - q_min)`` lies in [0, 1] over the
    values seen, and the exploration weight does not depend on the reward
    scale.

    Args:
        q_min, q_max: The smallest and largest Q seen (inf and -inf before
            any).
    """
    spread = q_max - q_min
    return spread if spread > 0 else 1.0


def minmax_rescale(values: np.ndarray, low: Optional[float] = None,
                   high: Optional[float] = None) -> np.ndarray:
    """Min-max rescaling to [0, 1]; all zeros when the bounds (nearly) meet.

    Args:
        values: [n_actions] Q values.
        low, high: Wider bounds, e.g. the graph's q_min and q_max; by default
            the values' own min and max.

    Returns:
        [n_actions] values in [0, 1].
    """
    low = float(values.min()) if low is None else min(low, float(values.min()))
    high = float(values.max()) if high is None else max(high,
                                                        float(values.max()))
    if high - low < _Q_EPSILON:
        return np.zeros_like(values, dtype=np.float64)
    return (values - low) / (high - low)


# -- PUCT and UCT in the tree. ------------------------------------------------

def select_child(children: Sequence[Any], parent_visits: int,
                 exploration_weight: float, q_scale: float = IDENTITY_Q_SCALE,
                 prior: Optional[Sequence[float]] = None,
                 rewards: Optional[Sequence[float]] = None,
                 discount: float = 1.0,
                 excluded: Optional[Container[Any]] = ()) -> Optional[int]:
    """The tree rule's choice: PUCT with a prior, UCT without.

    PUCT: ``argmax_a Q'(a) + c * P(a) * sqrt(N) / n(a)``;
    UCT: ``argmax_a Q'(a) + c * sqrt(ln N / n(a))`` (no exploration term
    while ``N <= 1``); see the module docs for the notation. Computed as
    ``Q(a) + w * P(a) / n(a)`` with ``w = c * q_scale * sqrt(N)`` (PUCT), or
    ``Q(a) + w / sqrt(n(a))`` with ``w = c * q_scale * sqrt(ln N)`` (UCT).

    Args:
        children: Per action, its statistics: ``.value`` and ``.count`` (see
            ``quality`` and ``n(a) = 1 + count``).
        parent_visits: N.
        exploration_weight: c.
        q_scale: ``minmax_q_scale(q_min, q_max)`` or ``IDENTITY_Q_SCALE``.
        prior: P(a), summing to 1; None for UCT.
        rewards, discount: See ``quality``.
        excluded: Children that may not be chosen (e.g. those on the path);
            an empty container (or None) excludes none.

    Returns:
        The best admissible action index (the lowest among equals), or None
        if every action is excluded.
    """
    sqrt = math.sqrt
    if rewards is None:  # Q(a) = V(child): the same sums, exactly.
        rewards, discount = _zero_rewards(len(children)), 1.0
    weight = exploration_weight * q_scale
    best_index, best_score = None, -math.inf
    # One loop per rule and no per-action branching on it: this runs at
    # every level of every simulation.
    if prior is not None:
        weight *= sqrt(parent_visits)
        for index, child in enumerate(children):
            if excluded and child in excluded:
                continue
            score = (rewards[index] + discount * child.value) + (
                weight * prior[index] / (1 + child.count))
            if score > best_score:
                best_index, best_score = index, score
    else:
        weight *= sqrt(math.log(parent_visits)) if parent_visits > 1 else 0.0
        for index, child in enumerate(children):
            if excluded and child in excluded:
                continue
            score = (rewards[index] + discount * child.value) + (
                weight / sqrt(1 + child.count))
            if score > best_score:
                best_index, best_score = index, score
    return best_index


_ZERO_REWARDS: List[List[float]] = []


def _zero_rewards(n_actions: int) -> List[float]:
    """[0.0] * n_actions, made once per size."""
    while len(_ZERO_REWARDS) <= n_actions:
        _ZERO_REWARDS.append([0.0] * len(_ZERO_REWARDS))
    return _ZERO_REWARDS[n_actions]


def quality(child: Any, reward: Optional[float] = None,
            discount: float = 1.0) -> float:
    """Q(a) of an action whose statistics are child (as the rules read it).

    Args:
        child: ``.value``: V of the state the action leads to, or, without a
            reward, the action's mean return itself (a chance node's Q).
        reward: r(s, a), or None.
        discount: gamma.

    Returns:
        ``reward + discount * child.value``, or ``child.value``.
    """
    return child.value if reward is None else reward + discount * child.value


def select_child_by_value(children: Sequence[Any], rewards: Sequence[float],
                          discount: float, rng: Any,
                          excluded: Container[Any] = ()) -> Optional[int]:
    """The original Alpacka project's rule: the best-rated child, greedily.

    ``argmax_a r(s, a) + discount * V(child)`` over admissible actions, with
    no exploration term and no prior: the search explores because backed-up
    returns pull the rating of disappointing paths down (and, avoiding loops,
    because a path never returns to a state it has passed). Ties are broken
    uniformly at random (``rng.random()``), as there: with an untrained
    network many actions rate equally.

    Args:
        children: Per action, its statistics (``.value``).
        rewards: r(s, a), aligned with children.
        discount: gamma.
        rng: A ``random.Random`` (or anything with ``random()``).
        excluded: Children that may not be chosen (e.g. those on the path).

    Returns:
        The chosen action index, or None if every action is excluded.
    """
    best_index, best_score, n_best = None, -math.inf, 0
    for index, child in enumerate(children):
        if child in excluded:
            continue
        score = rewards[index] + discount * child.value
        if score > best_score:
            best_index, best_score, n_best = index, score, 1
        elif score == best_score:
            # Reservoir sampling: each of the n_best equals kept with
            # probability 1 / n_best, without a list of them.
            n_best += 1
            if rng.random() * n_best < 1:
                best_index = index
    return best_index


# -- The final action: temperature and tie-break. -----------------------------

def argmax_tie_break(scores: np.ndarray, tie_breaker: np.ndarray,
                     rng: np.random.Generator) -> int:
    """argmax of scores; ties broken by the larger tie_breaker, then at random.

    Args:
        scores: [n_actions], e.g. visit counts.
        tie_breaker: [n_actions], e.g. Q.
        rng: Draws among actions equal on both (no draw otherwise).
    """
    best = np.flatnonzero(scores == scores.max())
    if len(best) > 1:
        best = best[tie_breaker[best] == tie_breaker[best].max()]
    return int(best[0] if len(best) == 1 else rng.choice(best))


def temperature_probabilities(visits: np.ndarray,
                              temperature: float) -> np.ndarray:
    """``n(a) ** (1 / T)``, normalised: [n_actions] probabilities.

    Computed as ``(n / max n) ** (1 / T)``, which stays finite for small T.

    Args:
        visits: [n_actions] non-negative counts, not all 0.
        temperature: T > 0.
    """
    probabilities = (visits / visits.max()) ** (1.0 / temperature)
    return probabilities / probabilities.sum()


def choose_action(visits: np.ndarray, qualities: np.ndarray,
                  temperature: float, rng: np.random.Generator) -> int:
    """The action to take after a search, from the root's statistics.

    Args:
        visits: [n_actions] visit counts of the root's actions (as in the
            agent's action_histogram, unnormalised).
        qualities: [n_actions] Q of the root's actions (the tie-break).
        temperature: T > 0 draws an action with probability proportional
            to ``visits ** (1 / T)``; 0 takes the most visited (see
            argmax_tie_break).
        rng: The agent's generator.

    Returns:
        The action index.
    """
    if temperature == 0:
        return argmax_tie_break(visits, qualities, rng)
    # Plain floats: the same index and generator state as
    # rng.choice(n, p=...), without its argument checks (every move).
    return core.sample_index(
        temperature_probabilities(visits, temperature).tolist(), rng)


# -- Gumbel at the root. ------------------------------------------------------

def gumbel_top_k(logits: np.ndarray, gumbel: np.ndarray, k: int) -> List[int]:
    """The k actions with the largest ``gumbel + logits``, best first.

    Args:
        logits: [n_actions] policy logits (-inf for excluded actions).
        gumbel: [n_actions] Gumbel(0, 1) noise (zeros for a greedy choice).
        k: How many actions to consider.

    Returns:
        Up to k action indices with finite logits, in decreasing order.
    """
    scores = gumbel + logits
    order = np.argsort(-scores, kind='stable')
    return [int(a) for a in order[:k] if np.isfinite(logits[a])]


def completed_q(qualities: np.ndarray, visits: np.ndarray,
                value: float) -> np.ndarray:
    """Q of visited actions, the value estimate for unvisited ones: [n_actions]."""
    return np.where(visits > 0, qualities, value)


def sigma(rescaled_q: np.ndarray, visits: np.ndarray, visit_offset: float,
          value_scale: float) -> np.ndarray:
    """The monotone transform ``(c_visit + max_b N(b)) * c_scale * q``.

    Args:
        rescaled_q: [n_actions] completed Q values in [0, 1].
        visits: [n_actions] visit counts at the root.
        visit_offset: c_visit (50 in the paper).
        value_scale: c_scale (1.0 in the paper).

    Returns:
        [n_actions] scores to add to the logits.
    """
    return (visit_offset + float(visits.max(initial=0))) * value_scale * rescaled_q


def improved_policy(logits: np.ndarray, sigma_q: np.ndarray) -> np.ndarray:
    """``softmax(logits + sigma(completed_q))``: the policy target, [n_actions].

    Excluded actions (logits -inf) get probability 0.
    """
    scores = logits + sigma_q
    scores = scores - scores[np.isfinite(scores)].max()
    probabilities = np.exp(scores)
    return probabilities / probabilities.sum()


def gumbel_final_action(remaining: Sequence[int], scores: np.ndarray) -> int:
    """The finalist of largest ``g + logits + sigma(q)`` (the first among
    equals)."""
    return max(remaining, key=lambda action: scores[action])


class SequentialHalving:
    """The root actions of a search budget, phase by phase.

    Iterating yields one root action per simulation. Before each phase after
    the first, the remaining actions are ranked by their scores and the
    better half (rounded up) is kept.

    Args:
        considered: The actions considered, from gumbel_top_k.
        n_simulations: The simulation budget.
        scores_fn: ``() -> [n_actions]`` array of ``g + logits + sigma(q)``,
            called before each halving, so it sees the statistics of the
            simulations run so far.

    Attributes:
        remaining: The actions still in the running; after iteration, the
            candidates for the final choice.
    """

    def __init__(self, considered: Sequence[int], n_simulations: int,
                 scores_fn: Callable[[], np.ndarray]):
        self.remaining = list(considered)
        self._n_simulations = n_simulations
        self._scores_fn = scores_fn

    def _halve(self) -> None:
        scores = self._scores_fn()
        ranked = sorted(self.remaining, key=lambda action: scores[action],
                        reverse=True)
        self.remaining = ranked[:math.ceil(len(ranked) / 2)]

    def __iter__(self) -> Iterator[int]:
        budget = self._n_simulations
        if not self.remaining or budget <= 0:
            return
        n_phases = max(1, math.ceil(math.log2(len(self.remaining))))
        used = 0
        for phase in range(n_phases):
            if phase:
                self._halve()
            per_action = max(1, budget // (n_phases * len(self.remaining)))
            for _ in range(per_action):
                for action in self.remaining:
                    if used == budget:
                        return
                    used += 1
                    yield action
        if used == budget:
            return
        # Rounding left a few simulations: share them among the finalists.
        if len(self.remaining) > 1:
            self._halve()
        while used < budget:
            for action in self.remaining:
                if used == budget:
                    return
                used += 1
                yield action
