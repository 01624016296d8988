"""A store of frame-stacked observations that holds each frame once.

A frame-stacked observation is an array [k, *frame_shape], the newest frame
last; consecutive observations of an episode share k - 1 frames, and at an
episode's reset the stack is its first frame repeated k times. Storing whole
stacks (twice per transition: observation and next observation) costs 2k
frames per transition; this store costs about one.

Frames go into a preallocated ring of ``capacity_frames`` slots. Each frame
gets an absolute id (the count of frames written before it; its slot is
id % capacity_frames) and a link to the frame before it in its stack, kept
as an int32 offset back (its id minus that frame's id). A frame that starts
a stack links to itself (offset 0), so the frame repeats
when the links are followed past it, which is exactly the stack of a reset.
An observation is named by the id of its newest frame, and rebuilt by
following k - 1 links. Replay datapoints keep these integer ids instead of
the observations; ``get`` turns a batch of ids back into stacks.

When the ring wraps, the oldest frames are overwritten: the stacks holding
them die (``alive``), and a replay resamples them, so a replay of C
transitions needs ``capacity_frames`` only slightly above C (one extra frame
per episode, for its last observation, plus k - 1).
"""

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

from alpacka import data
from alpacka.utils import system_memory

# Frames held beyond one per transition, as a fraction of the transitions:
# each episode's last observation takes a frame of its own, so a replay of
# episodes of mean length L needs about 1 / L more frames than transitions
# (random Breakout: L = 188, 0.53%). Transitions whose frames fell out of
# the ring are resampled, so a shortfall only costs a resample.
FRAME_SLACK = 0.01


def frames_for(capacity_transitions: int, n_frames: int) -> int:
    """The capacity_frames for a replay of capacity_transitions transitions.

    Args:
        capacity_transitions: The replay's capacity C.
        n_frames: k, the frames per stack (the oldest stack reaches k - 1
            frames back).

    Returns:
        ceil(C * (1 + FRAME_SLACK)) + k.
    """
    return math.ceil(capacity_transitions * (1 + FRAME_SLACK)) + n_frames


class FrameStackStore:
    """A ring of frames with back links, from which frame stacks are rebuilt.

    A trainer adds an episode's observations o_0 .. o_T as one or more
    stretches: ``ids = add_stretch(None, o[0:t + 1])`` at the episode's
    start, ``add_stretch(ids[-1], o[t + 1:u + 1])`` for the next piece, and
    keeps (ids[i], ids[i + 1]) as a transition's (observation id, next
    observation id). A next observation's frames are never older than its
    observation's, so ``alive`` of the observation id vouches for both.

    Args:
        n_frames: k, the number of frames in a stack.
        frame_signature: Shape and dtype of one frame, e.g.
            ``TensorSignature((84, 84), np.uint8)``.
        capacity_frames: Number of frames held.
        check: Whether adds verify that each stack continues the previous
            one (costs a comparison of k - 1 frames per add; for tests).
    """

    def __init__(self, n_frames: int, frame_signature: data.TensorSignature,
                 capacity_frames: int, check: bool = False):
        if n_frames < 1:
            raise ValueError(f'A frame stack needs n_frames >= 1, got '
                             f'{n_frames}.')
        if capacity_frames < n_frames:
            raise ValueError(
                f'A frame store must hold at least one stack: capacity_frames '
                f'= {capacity_frames} is below n_frames = {n_frames}.')
        self._k = n_frames
        self._frame_shape = tuple(frame_signature.shape)
        self._dtype = np.dtype(frame_signature.dtype)
        self._capacity = capacity_frames
        self._check = check
        if capacity_frames >= 2 ** 31:  # Offsets are below the capacity.
            raise ValueError(f'capacity_frames must be below 2**31, got '
                             f'{capacity_frames}.')
        self._frame_nbytes = int(np.prod(self._frame_shape)) * \
            self._dtype.itemsize + np.dtype(np.int32).itemsize
        system_memory.check_fits(
            capacity_frames * self._frame_nbytes,
            f'A frame store of {capacity_frames:,} frames of shape '
            f'{self._frame_shape} ({self._dtype})',
            'Lower the replay capacity.')
        self._frames = np.empty((capacity_frames,) + self._frame_shape,
                                self._dtype)
        # Per slot, how many ids back the previous frame of its stack is
        # (0 at a stack's start: the frame repeats).
        self._offsets = np.empty(capacity_frames, np.int32)
        self._next_id = 0  # Frames written so far: the next frame's id.

    @property
    def n_frames(self) -> int:
        """k, the number of frames in a stack."""
        return self._k

    @property
    def capacity_frames(self) -> int:
        """Number of frames held."""
        return self._capacity

    @property
    def frames_written(self) -> int:
        """Number of frames ever written (the next frame's id)."""
        return self._next_id

    @property
    def nbytes(self) -> int:
        """Bytes of the frames and links written so far (resident memory:
        numpy's preallocation reserves the rest without touching it)."""
        return min(self._next_id, self._capacity) * self._frame_nbytes

    @property
    def nbytes_capacity(self) -> int:
        """Bytes of the frames and links once the ring is full."""
        return self._frames.nbytes + self._offsets.nbytes

    @property
    def stack_shape(self) -> Tuple[int, ...]:
        """Shape of one observation: (k,) + frame shape."""
        return (self._k,) + self._frame_shape

    def _write(self, frames: np.ndarray, links: np.ndarray) -> np.ndarray:
        """Appends frames [T, ...] with their links [T]; returns their ids."""
        n = len(frames)
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        # Only the newest `capacity` frames of a long write survive.
        kept = slice(max(n - self._capacity, 0), n)
        slots = ids[kept] % self._capacity
        self._frames[slots] = frames[kept]
        self._offsets[slots] = ids[kept] - links[kept]
        self._next_id += n
        return ids

    def _checked_stacks(self, stacks: Any, what: str) -> np.ndarray:
        stacks = np.asarray(stacks)
        if stacks.shape[-len(self.stack_shape):] != self.stack_shape or \
                stacks.ndim != len(self.stack_shape) + 1:
            raise ValueError(
                f'{what} must be frame stacks shaped [T, '
                f'{", ".join(map(str, self.stack_shape))}] (T observations '
                f'of {self._k} frames {self._frame_shape}); got shape '
                f'{stacks.shape}.')
        if not np.can_cast(stacks.dtype, self._dtype, casting='same_kind'):
            raise ValueError(
                f'{what} are {stacks.dtype}, the store holds {self._dtype} '
                f'frames: storing them would lose their values. Build the '
                f'store with the observations\' dtype.')
        return stacks

    def _check_continues(self, previous: np.ndarray, stacks: np.ndarray,
                         first_index: int) -> None:
        """Checks that stacks[t][:-1] == previous[t][1:] for every t; stacks[0]
        is observation ``first_index`` of the stretch."""
        matches = np.all((previous[:, 1:] == stacks[:, :-1]).reshape(
            len(stacks), -1), axis=1)
        if not np.all(matches):
            bad = int(np.argmin(matches)) + first_index
            raise ValueError(
                f'add_stretch: observation {bad} of the stretch is not the '
                f'previous observation shifted by one frame (its first '
                f'{self._k - 1} frames differ from the last {self._k - 1} of '
                f'the one before). The observations are not frame stacks '
                f'of one episode, newest frame last: wrap the env in '
                f'alpacka.envs.FrameStack, and start each episode with '
                f'previous_obs_id=None.')

    def add_first(self, stack: np.ndarray) -> int:
        """Adds the first observation of an episode (or of a stream).

        Writes the stack's distinct frames only: a leading run of equal
        frames (all k of them at a reset) is stored once.

        Args:
            stack: Array [k, *frame_shape].

        Returns:
            The observation's id.
        """
        return int(self.add_stretch(None, np.asarray(stack)[None])[0])

    def add_next(self, previous_obs_id: int, stack: np.ndarray) -> int:
        """Adds the observation after ``previous_obs_id`` in its episode.

        Writes only ``stack[-1]``, linked to the previous observation.

        Args:
            previous_obs_id: Id of the observation before, still alive.
            stack: Array [k, *frame_shape].

        Returns:
            The observation's id.
        """
        return int(self.add_stretch(previous_obs_id,
                                    np.asarray(stack)[None])[0])

    def add_stretch(self, previous_obs_id: Optional[int],
                    stacks: np.ndarray) -> np.ndarray:
        """Adds consecutive observations of one episode.

        Args:
            previous_obs_id: Id of the observation just before stacks[0] in
                the same episode, or None if stacks[0] starts the episode
                (or the stream).
            stacks: Array [T, k, *frame_shape] of consecutive observations.

        Returns:
            int64 array [T] of their ids.

        Raises:
            ValueError: previous_obs_id is no longer (or not yet) alive, or,
                with check=True, the observations are not frame stacks
                continuing each other.
        """
        stacks = self._checked_stacks(stacks, 'add_stretch\'s stacks')
        if len(stacks) == 0:
            return np.zeros(0, np.int64)
        if self._check and len(stacks) > 1:
            self._check_continues(stacks[:-1], stacks[1:], 1)
        if previous_obs_id is None:
            head = self._write_first(stacks[0])
            if len(stacks) == 1:
                return np.array([head], np.int64)
            previous_obs_id, stacks = head, stacks[1:]
        else:
            previous_obs_id = int(previous_obs_id)
            head = None
            if not self.alive(np.array([previous_obs_id]))[0]:
                raise ValueError(
                    f'previous_obs_id {previous_obs_id} is not alive: its '
                    f'frames were overwritten (or never written; '
                    f'{self._next_id} frames written, {self._capacity} held). '
                    f'capacity_frames is too small for the stretches added '
                    f'between two observations of one episode.')
            if self._check:
                self._check_continues(self.get(np.array([previous_obs_id])),
                                      stacks[:1], 0)
        links = np.arange(self._next_id - 1, self._next_id + len(stacks) - 1,
                          dtype=np.int64)
        links[0] = previous_obs_id
        ids = self._write(stacks[:, -1], links)
        return ids if head is None else np.concatenate([[head], ids])

    def _write_first(self, stack: np.ndarray) -> int:
        """Writes a stack starting a chain; returns the id of its newest frame."""
        equal_to_first = np.all(
            (stack == stack[:1]).reshape(self._k, -1), axis=1)
        run = int(np.argmin(equal_to_first)) if not equal_to_first.all() \
            else self._k
        frames = np.concatenate([stack[:1], stack[run:]])
        links = np.arange(self._next_id - 1,
                          self._next_id + len(frames) - 1, dtype=np.int64)
        links[0] = self._next_id  # The first frame links to itself.
        return int(self._write(frames, links)[-1])

    def _chains(self, obs_ids: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Frame ids [k, B] of the stacks (oldest first), and alive [B]."""
        obs_ids = np.asarray(obs_ids, np.int64).reshape(-1)
        oldest_held = max(self._next_id - self._capacity, 0)
        ids = np.empty((self._k, len(obs_ids)), np.int64)
        ids[-1] = obs_ids
        alive = (obs_ids >= oldest_held) & (obs_ids < self._next_id)
        for j in range(self._k - 2, -1, -1):
            # A dead frame's slot holds a newer frame's link: garbage, but
            # its stack is already marked dead.
            ids[j] = ids[j + 1] - self._offsets[ids[j + 1] % self._capacity]
            alive &= ids[j] >= oldest_held
        return ids, alive

    def alive(self, obs_ids: np.ndarray) -> np.ndarray:
        """Whether every frame of each stack is still held.

        Args:
            obs_ids: int array [B] of observation ids.

        Returns:
            bool array [B].
        """
        return self._chains(obs_ids)[1]

    def get(self, obs_ids: np.ndarray) -> np.ndarray:
        """Rebuilds the stacks of some observations.

        Args:
            obs_ids: int array [B] of ids of alive observations.

        Returns:
            Array [B, k, *frame_shape] of the frame's dtype.

        Raises:
            ValueError: Some stack is not alive (see ``alive``).
        """
        ids, alive = self._chains(obs_ids)
        if not np.all(alive):
            raise ValueError(
                f'{int(np.sum(~alive))} of the {alive.size} observations '
                f'asked for are not alive (overwritten or never written): '
                f'check alive() and resample those first.')
        stacks = np.empty((ids.shape[1],) + self.stack_shape, self._dtype)
        for j in range(self._k):
            np.take(self._frames, ids[j] % self._capacity, axis=0,
                    out=stacks[:, j])
        return stacks

    def state_dict(self) -> Dict[str, Any]:
        """The store's state as plain numpy data (only the written slots)."""
        written = min(self._next_id, self._capacity)
        return {
            'n_frames': self._k,
            'capacity_frames': self._capacity,
            'next_id': self._next_id,
            'frames': self._frames[:written].copy(),
            'offsets': self._offsets[:written].copy(),
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict(); ids stay valid.

        A store saved with another capacity keeps the newest frames that
        fit, so the observations it held that still fit stay alive.

        Args:
            state: A dict returned by state_dict().

        Raises:
            ValueError: The saved stacks have another shape or dtype.
        """
        frames = state['frames']
        if state['n_frames'] != self._k or \
                frames.shape[1:] != self._frame_shape or \
                frames.dtype != self._dtype:
            raise ValueError(
                f'The saved frame store holds stacks of {state["n_frames"]} '
                f'frames {frames.shape[1:]} ({frames.dtype}), this one of '
                f'{self._k} frames {self._frame_shape} ({self._dtype}): the '
                f'observations changed since it was saved.')
        next_id = int(state['next_id'])
        ids = np.arange(max(next_id - min(state['capacity_frames'],
                                          self._capacity), 0), next_id)
        old_slots = ids % state['capacity_frames']
        self._frames[ids % self._capacity] = frames[old_slots]
        self._offsets[ids % self._capacity] = state['offsets'][old_slots]
        self._next_id = next_id
