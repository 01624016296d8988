"""Replay buffers: preallocated numpy ring buffers over nested datapoints.

A datapoint is a nested structure of arrays described by a nested structure of
``data.TensorSignature`` (without the batch dimension). Buffers take and give
*stacked* datapoints: the same structure with a leading batch axis [N, ...].
All adding and sampling is vectorised numpy; nothing loops over datapoints.

Both buffers own a ``np.random.Generator`` (``seed(seed)`` resets it) whose
state is part of ``state_dict()``, so a restored buffer draws exactly the
samples the original would have drawn.
"""

from typing import Any, Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np

from alpacka import data


def _checked_leaves(datapoint_signature: Any,
                    capacity: int) -> List[data.SignatureLeaf]:
    """The signature's leaves, after checking it and the capacity."""
    if capacity < 1:
        raise ValueError(f'Replay buffer capacity must be positive, got '
                         f'{capacity}.')
    leaves = data.leaves_with_paths(datapoint_signature)
    if not leaves:
        raise ValueError(f'The datapoint signature {datapoint_signature!r} '
                         f'has no TensorSignature leaves.')
    return leaves


def datapoint_nbytes(datapoint_signature: Any) -> int:
    """Bytes one datapoint of this nested signature takes in a buffer."""
    return sum(int(np.prod(leaf.signature.shape, dtype=np.int64)) *
               np.dtype(leaf.signature.dtype).itemsize
               for leaf in data.leaves_with_paths(datapoint_signature))


def _uniform_indices(rng: np.random.Generator, high: Any,
                     size: int) -> np.ndarray:
    """Uniform integers in [0, high), high a scalar or an int array [size].

    Scales uniform floats rather than calling rng.integers, which costs
    several times more for small batches; the bias (below high / 2**53) is
    immaterial for replay. No clamp is needed: random() is at most
    1 - 2**-53, and for integer high < 2**53 the rounded product of that
    with high stays below high.
    """
    return (rng.random(size) * high).astype(np.int64)


def _make_rng(seed: Optional[int]) -> np.random.Generator:
    return np.random.default_rng(seed)


def _rng_from_state(state: Dict[str, Any]) -> np.random.Generator:
    bit_generator = getattr(np.random, state['bit_generator'])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


class _ReplayBufferBase:
    """What both buffers share: the checked signature, and the generator.

    Args:
        datapoint_signature: Nested structure of TensorSignatures of one
            datapoint.
        capacity: Capacity (of the buffer, or of each bucket).
        seed: Seed of the sampling generator (None: fresh entropy).
    """

    def __init__(self, datapoint_signature: Any, capacity: int,
                 seed: Optional[int]):
        self._signature = datapoint_signature
        self._leaves = _checked_leaves(datapoint_signature, capacity)
        self._capacity = capacity
        self._rng = _make_rng(seed)

    def __len__(self) -> int:
        raise NotImplementedError

    def seed(self, seed: Optional[int]) -> None:
        """Resets the sampling generator.

        Args:
            seed: The seed, or None for fresh entropy.
        """
        self._rng = _make_rng(seed)

    def _check_nonempty(self) -> None:
        if len(self) == 0:
            raise ValueError('Cannot sample from an empty replay buffer: add '
                             'datapoints first.')


class UniformReplayBuffer(_ReplayBufferBase):
    """A ring buffer of datapoints, sampled uniformly with replacement.

    When full, adding overwrites the oldest datapoints, so the buffer always
    holds the newest ``capacity`` ones.

    Args:
        datapoint_signature: Nested structure of TensorSignatures of one
            datapoint (shapes without the batch dimension).
        capacity: Maximum number of datapoints held.
        seed: Seed of the sampling generator (None: fresh entropy).
    """

    def __init__(self, datapoint_signature: Any, capacity: int,
                 seed: Optional[int] = None):
        super().__init__(datapoint_signature, capacity, seed)
        self._storage = [
            np.empty((capacity,) + tuple(leaf.signature.shape),
                     dtype=leaf.signature.dtype)
            for leaf in self._leaves
        ]
        self._insert_pos = 0  # Physical slot the next datapoint goes to.
        self._size = 0

    @property
    def capacity(self) -> int:
        """Maximum number of datapoints held."""
        return self._capacity

    def __len__(self) -> int:
        return self._size

    def _flatten_batch(self, stacked_datapoints: Any) -> Tuple[List[np.ndarray], int]:
        """Checks a stacked datapoint against the signature; returns its leaves.

        Dicts are matched by key, so their order does not matter.

        Returns:
            Pair (list of leaf arrays [N, ...] in signature order, N).

        Raises:
            ValueError: naming the node nested unlike the signature, or the
                leaf whose shape or batch size is wrong.
        """
        data.check_nesting(self._signature, stacked_datapoints,
                           'added datapoints')
        arrays = [np.asarray(leaf) for leaf in data.flatten_like(
            self._leaves, stacked_datapoints, 'added datapoints')]
        n = data.check_batch(self._leaves, arrays, 'The added datapoints')
        return arrays, n

    def add(self, stacked_datapoints: Any) -> None:
        """Adds a batch of datapoints, overwriting the oldest when full.

        Args:
            stacked_datapoints: Structure like the signature with leaves
                shaped [N, ...]; N may exceed the capacity (then only the
                last ``capacity`` datapoints are kept).
        """
        arrays, n = self._flatten_batch(stacked_datapoints)
        self._add_flat(arrays, n)

    def _add_flat(self, arrays: List[np.ndarray], n: int) -> None:
        if n == 0:
            return
        capacity = self._capacity
        start = self._insert_pos
        total = n
        if n > capacity:
            # Only the newest `capacity` survive; place them where sequential
            # writes would have left them.
            dropped = n - capacity
            arrays = [array[dropped:] for array in arrays]
            start = (start + dropped) % capacity
            n = capacity
        first = min(n, capacity - start)
        for storage, array in zip(self._storage, arrays):
            storage[start:start + first] = array[:first]
            if first < n:
                storage[:n - first] = array[first:]
        self._insert_pos = (start + n) % capacity
        self._size = min(self._size + total, capacity)

    def _take(self, slots: np.ndarray) -> List[np.ndarray]:
        """Leaf arrays [len(slots), ...] at the given physical slots."""
        # take() is several times faster than fancy indexing for 2-D arrays.
        return [storage.take(slots, axis=0) for storage in self._storage]

    def _draw_slots(self, rng: np.random.Generator, batch_size: int) -> np.ndarray:
        # The filled slots are always [0, size): the ring starts wrapping
        # only once every slot has been written.
        return _uniform_indices(rng, self._size, batch_size)

    def sample(self, batch_size: int) -> Any:
        """Samples datapoints uniformly, with replacement.

        Args:
            batch_size: Number of datapoints B.

        Returns:
            Structure like the signature with leaves shaped [B, ...].

        Raises:
            ValueError: The buffer is empty.
        """
        self._check_nonempty()
        return data.unflatten_like(
            self._signature, self._take(self._draw_slots(self._rng, batch_size)))

    def gather(self, indices: Any) -> Any:
        """Datapoints by age: index 0 is the oldest held, -1 the newest.

        Args:
            indices: Integer array [K] of positions in [-len, len).

        Returns:
            Structure like the signature with leaves shaped [K, ...].
        """
        indices = np.asarray(indices, dtype=np.int64)
        if np.any((indices >= self._size) | (indices < -self._size)):
            raise IndexError(f'Replay buffer index out of range: holds '
                             f'{self._size} datapoints.')
        oldest = self._insert_pos if self._size == self._capacity else 0
        slots = (oldest + indices % max(self._size, 1)) % self._capacity
        return data.unflatten_like(self._signature, self._take(slots))

    def state_dict(self) -> Dict[str, Any]:
        """The buffer's state as plain, picklable numpy data.

        Only the filled part of the storage is included.
        """
        return {
            'capacity': self._capacity,
            'size': self._size,
            'insert_pos': self._insert_pos,
            'storage': [storage[:self._size].copy() for storage in self._storage],
            'rng_state': self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict().

        With the same capacity, subsequent adds and samples are identical to
        those of the buffer that was saved. With a different capacity, the
        saved datapoints are re-added oldest first (keeping the newest ones).

        Args:
            state: A dict returned by state_dict().
        """
        saved = state['storage']
        if len(saved) != len(self._storage):
            raise ValueError(
                f'The saved replay buffer has {len(saved)} leaves per '
                f'datapoint, this one has {len(self._storage)}: the signature '
                f'changed since it was saved.')
        for array, leaf in zip(saved, self._leaves):
            if array.shape[1:] != tuple(leaf.signature.shape):
                raise ValueError(
                    f'The saved replay buffer has shape {array.shape[1:]} at '
                    f'{leaf.location} of a datapoint, the signature says '
                    f'{leaf.signature}: the signature changed since it was '
                    f'saved.')
        size = state['size']
        self._size = 0
        self._insert_pos = 0
        if state['capacity'] == self._capacity:
            for storage, array in zip(self._storage, saved):
                storage[:size] = array
            self._size = size
            self._insert_pos = state['insert_pos']
        else:
            oldest = state['insert_pos'] if size == state['capacity'] else 0
            order = np.roll(np.arange(size), -oldest)
            self._add_flat([array[order] for array in saved], size)
        self._rng = _rng_from_state(state['rng_state'])


class HierarchicalReplayBuffer(_ReplayBufferBase):
    """Replay buffer that balances sampling across a hierarchy of buckets.

    Every datapoint is added with a tuple of ``hierarchy_depth`` bucket
    labels, e.g. ``(episode.solved,)``. Sampling descends the hierarchy from
    its root, choosing uniformly among the labels seen at each level (given
    the labels chosen above), then draws a datapoint uniformly from the
    chosen leaf bucket. So with depth 1 and labels True/False, half of every
    batch comes (in expectation) from solved episodes however rare they are.
    Each leaf bucket is a UniformReplayBuffer of capacity ``capacity``.

    Sampling is vectorised over the batch: one level of the descent is a few
    numpy operations on [B] arrays, and the datapoints are gathered with one
    ``take`` per bucket and leaf array.

    Args:
        datapoint_signature: Nested structure of TensorSignatures of one
            datapoint.
        capacity: Capacity of each leaf bucket.
        hierarchy_depth: Number of labels per datapoint (0: one bucket).
        seed: Seed of the sampling generator (None: fresh entropy).
    """

    def __init__(self, datapoint_signature: Any, capacity: int,
                 hierarchy_depth: int, seed: Optional[int] = None):
        if hierarchy_depth < 0:
            raise ValueError(f'hierarchy_depth must be non-negative, got '
                             f'{hierarchy_depth}.')
        super().__init__(datapoint_signature, capacity, seed)
        self._depth = hierarchy_depth
        # Leaf buckets by label tuple, in creation order; the order fixes
        # each node's children's order, which state_dict() preserves.
        self._buckets: Dict[Tuple[Hashable, ...], UniformReplayBuffer] = {}
        self._bucket_list: List[UniformReplayBuffer] = []
        # Per level of the hierarchy, (n_children, first_child, child_ids):
        # the children of node i of that level are child_ids[first_child[i]:
        # first_child[i] + n_children[i]], ids of nodes of the next level.
        # At the last level, node ids are indices into _bucket_list.
        self._levels: List[Tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._bucket_list)

    @property
    def buckets(self) -> Dict[Tuple[Hashable, ...], UniformReplayBuffer]:
        """The leaf buckets by their label tuples, in creation order."""
        return dict(self._buckets)

    def _bucket(self, key: Tuple[Hashable, ...]) -> UniformReplayBuffer:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = UniformReplayBuffer(self._signature, self._capacity)
            self._buckets[key] = bucket
            self._bucket_list.append(bucket)
            self._rebuild_levels()
        return bucket

    def _rebuild_levels(self) -> None:
        """Recomputes the descent tables from the bucket keys (on a new one)."""
        keys = list(self._buckets)
        self._levels = []
        parent_ids = {(): 0}  # Label prefixes of the current level -> id.
        for level in range(self._depth):
            child_ids: Dict[tuple, int] = {}
            for key in keys:  # First appearance fixes the order.
                child_ids.setdefault(key[:level + 1], len(child_ids))
            children: List[List[int]] = [[] for _ in parent_ids]
            for prefix, child_id in child_ids.items():
                children[parent_ids[prefix[:-1]]].append(child_id)
            n_children = np.array([len(ids) for ids in children], np.int64)
            first_child = np.cumsum(n_children) - n_children
            flat_ids = np.array([i for ids in children for i in ids], np.int64)
            self._levels.append((n_children, first_child, flat_ids))
            parent_ids = child_ids

    def add(self, stacked_datapoints: Any, buckets: Sequence[Hashable]) -> None:
        """Adds a batch of datapoints to one bucket.

        Args:
            stacked_datapoints: Structure like the signature with leaves
                shaped [N, ...].
            buckets: ``hierarchy_depth`` hashable labels, root level first.
        """
        key = tuple(buckets)
        if len(key) != self._depth:
            raise ValueError(f'Expected {self._depth} bucket labels (the '
                             f'hierarchy depth), got {len(key)}: {key!r}.')
        if len(data.choose_leaf(stacked_datapoints)) == 0:
            return  # Never create an empty bucket: sampling would hit it.
        self._bucket(key).add(stacked_datapoints)

    def sample(self, batch_size: int) -> Any:
        """Samples datapoints, balanced across the bucket hierarchy.

        Args:
            batch_size: Number of datapoints B.

        Returns:
            Structure like the signature with leaves shaped [B, ...], in
            random (not bucket-grouped) order.

        Raises:
            ValueError: The buffer is empty.
        """
        # pylint: disable=protected-access
        self._check_nonempty()
        # Descend the hierarchy: node[i] is the node chosen for example i.
        node = np.zeros(batch_size, dtype=np.int64)
        for n_children, first_child, child_ids in self._levels:
            choice = _uniform_indices(self._rng, n_children[node], batch_size)
            node = child_ids[first_child[node] + choice]
        sizes = np.array([len(bucket) for bucket in self._bucket_list])
        slots = _uniform_indices(self._rng, sizes[node], batch_size)
        if len(self._bucket_list) == 1:
            return data.unflatten_like(self._signature,
                                       self._bucket_list[0]._take(slots))

        # Gather bucket by bucket into a bucket-sorted batch, then undo the
        # sort so the examples stay in random order.
        order = np.argsort(node, kind='stable')
        ends = np.cumsum(np.bincount(node, minlength=len(self._bucket_list)))
        sorted_slots = slots[order]
        grouped = [np.empty((batch_size,) + tuple(leaf.signature.shape),
                            leaf.signature.dtype)
                   for leaf in self._leaves]
        start = 0
        for bucket, end in zip(self._bucket_list, ends):
            if end > start:
                for target, storage in zip(grouped, bucket._storage):
                    np.take(storage, sorted_slots[start:end], axis=0,
                            out=target[start:end])
            start = end
        unsort = np.empty_like(order)
        unsort[order] = np.arange(batch_size)
        return data.unflatten_like(
            self._signature, [array.take(unsort, axis=0) for array in grouped])

    def state_dict(self) -> Dict[str, Any]:
        """The buffer's state as plain, picklable numpy data."""
        return {
            'capacity': self._capacity,
            'hierarchy_depth': self._depth,
            'buckets': [(key, bucket.state_dict())
                        for key, bucket in self._buckets.items()],
            'rng_state': self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict(); later samples are identical.

        Args:
            state: A dict returned by state_dict().
        """
        if state['hierarchy_depth'] != self._depth:
            raise ValueError(
                f'The saved replay buffer has hierarchy depth '
                f'{state["hierarchy_depth"]}, this one {self._depth}: the '
                f'sampling hierarchy changed since it was saved.')
        self._buckets = {}
        self._bucket_list = []
        for key, bucket_state in state['buckets']:
            self._bucket(tuple(key)).load_state_dict(bucket_state)
        self._rng = _rng_from_state(state['rng_state'])
