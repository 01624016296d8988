"""Proportional prioritized replay (Schaul et al. 2016, "Prioritized
Experience Replay", section 3.3 and algorithm 1).

Each stored datapoint i has a priority p_i = |delta_i| + epsilon, its last
TD error plus a small constant so it can still be drawn. The buffer keeps
p_i^alpha in a sum tree, samples i with probability P(i) (equation 1) by
descending the tree, and returns importance-sampling weights w_i (section
3.4) that correct the bias of non-uniform sampling. The equations live in
``priorities_from_td_errors``, ``sampling_probabilities`` and
``importance_weights``; the rest is bookkeeping.

Everything is vectorised numpy: the tree updates and descends one level at
a time over all the slots or queries of a call.
"""

from typing import Any, Dict, Optional, Tuple

import numpy as np

from alpacka import data
from alpacka.trainers import replay_buffers
from alpacka.utils import system_memory


def priorities_from_td_errors(td_errors: np.ndarray, priority_exponent: float,
                              epsilon: float) -> np.ndarray:
    """The stored, scaled priorities p_i^alpha with p_i = |delta_i| + epsilon.

    Args:
        td_errors: TD errors delta_i [K].
        priority_exponent: alpha (0: uniform sampling).
        epsilon: The constant that keeps zero-error datapoints drawable.

    Returns:
        float64 array [K].
    """
    return (np.abs(np.asarray(td_errors, np.float64)) + epsilon) ** \
        priority_exponent


def sampling_probabilities(scaled_priorities: np.ndarray,
                           total: float) -> np.ndarray:
    """Equation 1: P(i) = p_i^alpha / sum_k p_k^alpha.

    Args:
        scaled_priorities: p_i^alpha [B] of the datapoints of interest.
        total: sum_k p_k^alpha over the whole buffer.

    Returns:
        float64 array [B].
    """
    return np.asarray(scaled_priorities, np.float64) / total


def importance_weights(probabilities: np.ndarray, buffer_size: int,
                       min_probability: float,
                       importance_exponent: float) -> np.ndarray:
    """Section 3.4: w_i = (N * P(i))^-beta / max_j w_j.

    The maximum over the whole buffer is the weight of its least likely
    datapoint, so the weights lie in (0, 1] and only ever scale updates
    down. With P(i) / P_min in place of N * P(i) / (N * P_min), N cancels
    out; it stays an argument to match the paper's formula.

    Args:
        probabilities: P(i) [B] of the sampled datapoints.
        buffer_size: N, the number of datapoints held.
        min_probability: min_j P(j) > 0 over the datapoints held.
        importance_exponent: beta (0: no correction, 1: full correction).

    Returns:
        float64 array [B].
    """
    weights = (buffer_size * np.asarray(probabilities, np.float64)) ** \
        -importance_exponent
    max_weight = (buffer_size * min_probability) ** -importance_exponent
    return weights / max_weight


def _last_writes(slots: np.ndarray,
                 values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Unique slots (sorted) with the value of their last occurrence.

    NumPy does not promise which of repeated fancy-indexed writes wins.
    """
    reversed_unique, reversed_first = np.unique(slots[::-1], return_index=True)
    return reversed_unique, values[::-1][reversed_first]


class SumTree:
    """A binary sum tree (and a min tree) over ``capacity`` priorities.

    Both trees live in flat float64 arrays of 2 * L nodes, L the smallest
    power of two >= capacity: node 1 is the root, node n has children 2n
    and 2n + 1, and leaf (slot) s is node L + s. Unused leaves hold 0 in the
    sum tree and +inf in the min tree. A parent is always recomputed from
    its children, never incremented, so no rounding error accumulates.

    Args:
        capacity: Number of leaves.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f'SumTree capacity must be positive, got '
                             f'{capacity}.')
        self._capacity = capacity
        self._n_leaves = 1 << (capacity - 1).bit_length()
        self._depth = self._n_leaves.bit_length() - 1
        self._sums = np.zeros(2 * self._n_leaves, np.float64)
        # Min over positive priorities only (a zero priority is never drawn).
        self._mins = np.full(2 * self._n_leaves, np.inf)
        # The trees viewed as pairs: row n holds the children 2n and 2n + 1,
        # so one take reads both (several times faster than two fancy
        # indexes, and the descent and updates are made of such reads).
        self._sum_pairs = self._sums.reshape(-1, 2)
        self._min_pairs = self._mins.reshape(-1, 2)

    @property
    def capacity(self) -> int:
        """Number of leaves."""
        return self._capacity

    @property
    def total(self) -> float:
        """Sum of all priorities."""
        return float(self._sums[1])

    @property
    def nbytes(self) -> int:
        """Bytes held by the two trees."""
        return self._sums.nbytes + self._mins.nbytes

    def min_positive(self) -> float:
        """The smallest positive priority (inf if there is none)."""
        return float(self._mins[1])

    def priorities(self, slots: np.ndarray) -> np.ndarray:
        """The priorities [K] (float64) at the leaves ``slots`` [K]."""
        return self._sums[self._n_leaves + np.asarray(slots, np.int64)]

    def update(self, slots: np.ndarray, priorities: np.ndarray) -> None:
        """Sets the priorities of some leaves.

        Args:
            slots: int array [K] of leaves in [0, capacity); repeated slots
                take the priority of their last occurrence.
            priorities: Non-negative array [K] (or a scalar).
        """
        slots = np.asarray(slots, np.int64).reshape(-1)
        priorities = np.broadcast_to(
            np.asarray(priorities, np.float64), slots.shape)
        if slots.size == 0:
            return
        if np.any((slots < 0) | (slots >= self._capacity)):
            raise IndexError(f'SumTree slots must be in [0, '
                             f'{self._capacity}).')
        if not np.all(priorities >= 0):  # Also rejects NaN.
            raise ValueError('Priorities must be non-negative numbers; got '
                             'a negative or NaN one (a NaN TD error?).')
        slots, priorities = _last_writes(slots, priorities)
        nodes = self._n_leaves + slots
        self._sums[nodes] = priorities
        self._mins[nodes] = np.where(priorities > 0, priorities, np.inf)
        if slots.size * self._depth >= self._n_leaves:
            self._rebuild()
            return
        for _ in range(self._depth):
            # Siblings share a parent; writing its (same) sum twice is
            # harmless and cheaper than deduplicating every level.
            nodes = nodes >> 1
            self._recompute(nodes)

    def _recompute(self, nodes: np.ndarray) -> None:
        sums = self._sum_pairs.take(nodes, axis=0)
        self._sums[nodes] = sums[:, 0] + sums[:, 1]
        mins = self._min_pairs.take(nodes, axis=0)
        self._mins[nodes] = np.minimum(mins[:, 0], mins[:, 1])

    def _rebuild(self) -> None:
        """Recomputes every parent, level by level (for large updates)."""
        width = self._n_leaves // 2
        while width >= 1:
            self._recompute(np.arange(width, 2 * width))
            width //= 2

    def find(self, prefix_sums: np.ndarray) -> np.ndarray:
        """The leaves whose cumulative-sum intervals hold the prefix sums.

        Leaf s owns [sum_{j<s} p_j, sum_{j<=s} p_j): a prefix sum exactly on
        a boundary belongs to the leaf that starts there. Leaves of priority
        0 are never returned, even for a prefix sum >= total (rounding).

        Args:
            prefix_sums: Array [B] of values in [0, total); total must be
                positive.

        Returns:
            int64 array [B] of slots.
        """
        remaining = np.array(prefix_sums, np.float64).reshape(-1)
        nodes = np.ones(remaining.shape, np.int64)
        for _ in range(self._depth):
            children = self._sum_pairs.take(nodes, axis=0)
            go_right = (remaining >= children[:, 0]) & (children[:, 1] > 0)
            remaining -= np.where(go_right, children[:, 0], 0.0)
            nodes = 2 * nodes + go_right
        return nodes - self._n_leaves

    def state_dict(self) -> Dict[str, Any]:
        """The leaves' priorities, as plain numpy data."""
        return {'capacity': self._capacity,
                'priorities': self.priorities(np.arange(self._capacity))}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores the priorities from state_dict() (same capacity)."""
        if state['capacity'] != self._capacity:
            raise ValueError(
                f'The saved sum tree has capacity {state["capacity"]}, this '
                f'one {self._capacity}: a prioritized replay can only be '
                f'restored with the capacity it was saved with.')
        self.update(np.arange(self._capacity), state['priorities'])


class PrioritizedReplayBuffer(replay_buffers.UniformReplayBuffer):
    """A ring buffer sampled in proportion to priorities (Schaul et al.).

    Storage, overwriting and checks are UniformReplayBuffer's; this adds a
    SumTree of p_i^alpha over the same physical slots. New datapoints get
    the largest priority seen so far (1 at the start), so each is likely to
    be drawn at least once before its TD error is known. ``sample`` returns
    the slots it drew, to pass back to ``update_priorities`` with the TD
    errors computed on the batch.

    Args:
        datapoint_signature: Nested structure of TensorSignatures of one
            datapoint (shapes without the batch dimension).
        capacity: Maximum number of datapoints held.
        priority_exponent: alpha in P(i) = p_i^alpha / sum_k p_k^alpha
            (0: uniform sampling; the paper uses 0.6).
        epsilon: Added to |TD error| so that no priority is 0.
        seed: Seed of the sampling generator (None: fresh entropy).
    """

    def __init__(self, datapoint_signature: Any, capacity: int,
                 priority_exponent: float = 0.6, epsilon: float = 1e-6,
                 seed: Optional[int] = None):
        if np.isnan(priority_exponent) or priority_exponent < 0:
            raise ValueError(f'The priority exponent (alpha) must be >= 0, '
                             f'got {priority_exponent}.')
        if np.isnan(epsilon) or epsilon <= 0:
            raise ValueError(f'The priority epsilon must be > 0 (so that '
                             f'every datapoint stays drawable), got '
                             f'{epsilon}.')
        # The two trees: at most 4 float64 nodes per slot each.
        system_memory.check_fits(
            max(capacity, 0) * (
                replay_buffers.datapoint_nbytes(datapoint_signature) + 64),
            f'A prioritized replay of {capacity:,} datapoints',
            'Lower the replay capacity.')
        super().__init__(datapoint_signature, capacity, seed)
        self._alpha = float(priority_exponent)
        self._epsilon = float(epsilon)
        self._tree = SumTree(capacity)
        self._max_priority = 1.0  # Largest p_i^alpha seen so far.

    @property
    def max_priority(self) -> float:
        """The largest stored priority p^alpha seen so far (1 at the start)."""
        return self._max_priority

    @property
    def nbytes(self) -> int:
        """Bytes held by the preallocated datapoints and the trees."""
        return sum(storage.nbytes for storage in self._storage) + \
            self._tree.nbytes

    @property
    def tree(self) -> SumTree:
        """The sum tree of p_i^alpha by physical slot (read it, don't write)."""
        return self._tree

    def add(self, stacked_datapoints: Any) -> np.ndarray:
        """Adds a batch of datapoints with the maximum priority seen so far.

        Args:
            stacked_datapoints: Structure like the signature with leaves
                shaped [N, ...]; N may exceed the capacity (then only the
                last ``capacity`` datapoints are kept).

        Returns:
            int64 array [min(N, capacity)] of the physical slots written,
            in the order of the datapoints kept.
        """
        arrays, n = self._flatten_batch(stacked_datapoints)
        kept = min(n, self._capacity)
        slots = (self._insert_pos + np.arange(n - kept, n)) % self._capacity
        self._add_flat(arrays, n)
        self._tree.update(slots, self._max_priority)
        return slots

    # Unlike the uniform buffer's, a sample comes with its slots (for
    # update_priorities) and weights: the trainer that holds a prioritized
    # buffer samples it knowingly.
    def sample(self, batch_size: int,  # pylint: disable=arguments-differ
               importance_exponent: float
               ) -> Tuple[Any, np.ndarray, np.ndarray]:
        """Samples datapoints in proportion to their priorities.

        Stratified: [0, total) is split into ``batch_size`` equal segments
        and one prefix sum is drawn uniformly in each, so a batch covers the
        priority mass evenly (with replacement across segments).

        Args:
            batch_size: Number of datapoints B.
            importance_exponent: beta of the importance weights, in [0, 1]
                (annealed towards 1 over training in the paper).

        Returns:
            Triple (batch: structure like the signature with leaves
            [B, ...], slots: int64 [B], weights: float32 [B] in (0, 1]).

        Raises:
            ValueError: The buffer is empty.
        """
        self._check_nonempty()
        if not 0 <= importance_exponent <= 1:
            raise ValueError(f'The importance exponent (beta) must be in '
                             f'[0, 1], got {importance_exponent}.')
        total = self._tree.total
        if total <= 0:
            raise ValueError('Cannot sample from a prioritized replay whose '
                             'datapoints were all discarded: add new ones '
                             'first.')
        prefix_sums = (np.arange(batch_size) + self._rng.random(batch_size)) \
            * (total / batch_size)
        slots = self._tree.find(prefix_sums)
        probabilities = sampling_probabilities(
            self._tree.priorities(slots), total)
        weights = importance_weights(
            probabilities, self._size,
            self._tree.min_positive() / total, importance_exponent)
        batch = data.unflatten_like(self._signature, self._take(slots))
        return batch, slots, weights.astype(np.float32)

    def update_priorities(self, slots: np.ndarray,
                          td_errors: np.ndarray) -> None:
        """Sets p = (|td| + epsilon)^alpha for the given slots.

        Args:
            slots: int array [K] of physical slots, as returned by sample()
                or add(); a repeated slot takes its last TD error.
            td_errors: Array [K] of TD errors.
        """
        slots = np.asarray(slots, np.int64).reshape(-1)
        td_errors = np.asarray(td_errors, np.float64).reshape(-1)
        if slots.shape != td_errors.shape:
            raise ValueError(f'update_priorities got {slots.size} slots and '
                             f'{td_errors.size} TD errors: pass one TD '
                             f'error per sampled slot.')
        self._check_slots(slots)
        if not np.all(np.isfinite(td_errors)):
            raise ValueError('update_priorities got a NaN or infinite TD '
                             'error: the Q-network has diverged.')
        priorities = priorities_from_td_errors(td_errors, self._alpha,
                                               self._epsilon)
        self._tree.update(slots, priorities)
        if priorities.size:
            self._max_priority = max(self._max_priority,
                                     float(priorities.max()))

    def discard(self, slots: np.ndarray) -> None:
        """Never draws these datapoints again (until their slots are reused).

        For datapoints that became unusable, e.g. whose frames a
        FrameStackStore overwrote. Their priority becomes 0, which no
        TD error gives: a tiny epsilon^alpha priority instead would make
        them the least likely datapoints, whose weight normalises all the
        others, and so shrink every importance weight.

        Args:
            slots: int array [K] of physical slots.
        """
        slots = np.asarray(slots, np.int64).reshape(-1)
        self._check_slots(slots)
        self._tree.update(slots, 0.0)

    def _check_slots(self, slots: np.ndarray) -> None:
        if np.any((slots < 0) | (slots >= self._size)):
            raise IndexError(f'Prioritized replay slots must be in [0, '
                             f'{self._size}) (the slots filled); use the '
                             f'slots returned by sample() or add().')

    def state_dict(self) -> Dict[str, Any]:
        """The uniform buffer's state plus the priorities and their max."""
        state = super().state_dict()
        state['tree'] = self._tree.state_dict()
        state['max_priority'] = self._max_priority
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict(); later samples are identical.

        Args:
            state: A dict returned by state_dict() of a buffer of the same
                capacity.

        Raises:
            ValueError: The state was saved with another capacity.
        """
        if state['capacity'] != self._capacity:
            raise ValueError(
                f'The saved prioritized replay has capacity '
                f'{state["capacity"]}, this one {self._capacity}: restore it '
                f'with the capacity it was saved with.')
        super().load_state_dict(state)
        self._tree.load_state_dict(state['tree'])
        self._max_priority = float(state['max_priority'])
