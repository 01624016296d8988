"""Gumbel root action selection: the maths of Danihelka et al. (2022).

"Policy improvement by planning with Gumbel" replaces PUCT at the root of a
search with three steps:

1. Gumbel-top-k: draw ``g ~ Gumbel(0, 1)`` per action and consider the ``m``
   actions with the largest ``g + logits`` (a sample of ``m`` actions without
   replacement from ``softmax(logits)``).
2. Sequential halving: split the simulation budget into ``ceil(log2 m)``
   phases; in each phase visit every remaining action equally often, then keep
   the better half by ``g + logits + sigma(q)``.
3. Act with the remaining action of largest ``g + logits + sigma(q)``, and
   train the policy towards ``softmax(logits + sigma(completed_q))``, where
   completed_q is Q for visited actions and the root's value estimate for the
   others.

``sigma(q) = (c_visit + max_b N(b)) * c_scale * q`` acts on Q values rescaled
to [0, 1]: by the min and max of the root's completed Q values, or by wider
bounds (e.g. those of the whole search graph).

Everything here is a pure function of small arrays of shape ``[n_actions]``
(or a small iterator class), so it is tested in isolation; the agent in
``mcts.py`` supplies Q values and visit counts.
"""

import math
from typing import Callable, Iterator, List, Optional, Sequence

import numpy as np

# Below this spread the completed Q values are treated as equal.
_Q_EPSILON = 1e-8


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


def rescale(values: np.ndarray, low: Optional[float] = None,
            high: Optional[float] = None) -> np.ndarray:
    """Min-max rescaling to [0, 1]; all zeros when the bounds (nearly) meet.

    Args:
        values: [n_actions] completed Q values.
        low, high: The bounds; by default the values' own min and max.

    Returns:
        [n_actions] values in [0, 1].
    """
    low = float(values.min()) if low is None else min(low, float(values.min()))
    high = float(values.max()) if high is None else max(high,
                                                        float(values.max()))
    if high - low < _Q_EPSILON:
        return np.zeros_like(values, dtype=np.float64)
    return (values - low) / (high - low)


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
