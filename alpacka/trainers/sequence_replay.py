"""Sequences for recurrent Q-learning (R2D2-style), cut across stretches.

Each episode (arriving in stretches keyed by an episode id, as for
``n_step.NStepAccumulator``) is cut into sequences of ``length`` steps
starting every ``length - overlap`` steps: with length 80 and overlap 40
(R2D2), at steps 0, 40, 80, ... An episode's last sequence is padded to
``length`` (its ``mask`` is 0 there); a sequence is only made if it holds a
step the previous one did not.

A sequence of L steps starting at step s stores (numpy, one datapoint):

* ``observation [L + 1, ...]``: s_s .. s_{s+L}, the states acted in and the
  state after the last step (zeros after an episode's end);
* ``action [L]``, ``mask [L]``;
* ``return [L]``, ``discount [L]``, ``bootstrap_index [L]``: n-step targets
  within the sequence (``n_step.n_step_returns`` on the sequence's own
  rewards): step t's window is cut at the sequence's end, so it bootstraps
  from state ``bootstrap_index[t] = min(t + n, valid length)`` of the
  sequence; an episode that terminated inside the window is not
  bootstrapped (discount 0), a truncated one is;
* ``initial_state {key: [H]}``: the recurrent state the agent acted from at
  step s (``agent_info['state']``);
* ``starts_episode``: 1.0 if that state is the zero state an episode
  starts from (exact whatever the network's weights: the sequence needs no
  burn-in), else 0.0.
"""

import collections
from typing import Any, Dict, Hashable, List, Optional

import numpy as np

from alpacka import data
from alpacka.networks import recurrent_q_network
from alpacka.trainers import n_step as n_step_lib

STATE = recurrent_q_network.STATE_INFO


def sequence_signature(observation: data.TensorSignature,
                       state: Dict[str, data.TensorSignature],
                       length: int) -> Dict[str, Any]:
    """The TensorSignatures of one stored sequence (see the module)."""
    steps = data.TensorSignature((length,), np.float32)
    return {
        'observation': data.TensorSignature(
            (length + 1,) + tuple(observation.shape), observation.dtype),
        'action': data.TensorSignature((length,), np.int64),
        'return': steps, 'discount': steps,
        'bootstrap_index': data.TensorSignature((length,), np.int64),
        'mask': steps,
        'starts_episode': data.TensorSignature((), np.float32),
        'initial_state': dict(state),
    }


def sequence_starts(n_steps: int, length: int, overlap: int, ended: bool,
                    continued: bool = False) -> List[int]:
    """Starts of the sequences that can be cut from an episode's n_steps.

    Sequences start every ``length - overlap`` steps. Before the episode
    ended only the complete ones are cut; at its end also those that hold a
    step their predecessor did not (the last one is then padded).

    Args:
        n_steps: Steps of the episode (or of what is left of it).
        length: Steps per sequence.
        overlap: Steps shared by consecutive sequences.
        ended: Whether the episode is over.
        continued: Whether the steps continue an episode some of whose
            sequences were cut: its first ``overlap`` steps are in the last
            of them, so the first sequence, too, must hold a newer step.

    Returns:
        The start steps, increasing.
    """
    period = length - overlap
    starts = []
    start = 0
    while start + length <= n_steps:
        starts.append(start)
        start += period
    if ended:
        while start < n_steps and (start + overlap < n_steps or
                                   not (starts or continued)):
            starts.append(start)
            start += period
    return starts


def _pad(array: np.ndarray, length: int) -> np.ndarray:
    """array [n, ...] zero-padded to [length, ...]."""
    pad = length - len(array)
    if pad == 0:
        return array
    return np.concatenate([array, np.zeros((pad,) + array.shape[1:],
                                           array.dtype)])


class _Pending:
    """The steps of an unfinished episode not yet in a complete sequence."""

    def __init__(self, steps: data.Transition):
        self.steps = steps
        self.cut_any = False  # Whether a sequence was cut from the episode.


class SequenceAccumulator:
    """Turns stretches of episodes into sequences (see the module).

    Args:
        length: Steps per sequence.
        overlap: Steps shared by consecutive sequences (< length).
        n_step: Length of the reward window of the targets.
        discount: Per-step discount.
        max_pending: Unfinished episodes kept at most (the oldest is then
            cut as if truncated).
    """

    def __init__(self, length: int, overlap: int, n_step: int,
                 discount: float, max_pending: int = 10_000):
        if not 0 <= overlap < length:
            raise ValueError(f'SequenceAccumulator: the overlap ({overlap}) '
                             f'must be in [0, length = {length}).')
        self._length = length
        self._overlap = overlap
        self._n_step = n_step
        self._discount = discount
        self._max_pending = max_pending
        self._pending: 'collections.OrderedDict[Hashable, _Pending]' = (
            collections.OrderedDict())
        self.n_steps_cut = 0  # Steps in the sequences cut, each counted once.

    @property
    def n_pending_steps(self) -> int:
        """Steps waiting for the rest of their episodes."""
        return sum(len(pending.steps.reward)
                   for pending in self._pending.values())

    def add(self, key: Hashable,
            stretch: data.Transition) -> Optional[Dict[str, Any]]:
        """Adds the next stretch of one episode.

        Args:
            key: The episode's id.
            stretch: Its next steps, stacked [T, ...], with per-step
                ``terminated`` and ``done`` flags and
                ``agent_info['state']``.

        Returns:
            The sequences now complete, stacked [N, ...] (None if none).
        """
        pending = self._pending.pop(key, None)
        if pending is None:
            pending = _Pending(stretch)
        else:
            pending.steps = data.nested_concatenate([pending.steps, stretch])
        ended = bool(np.asarray(pending.steps.done)[-1])
        terminated = ended and bool(np.asarray(pending.steps.terminated)[-1])
        sequences = self._cut(pending, ended, terminated)
        if not ended:
            self._pending[key] = pending
            while len(self._pending) > self._max_pending:
                sequences += self._cut_rest(self._pending.popitem(last=False)[1])
        return data.nested_stack(sequences) if sequences else None

    def flush(self) -> Optional[Dict[str, Any]]:
        """Cuts every waiting episode as if truncated where it stopped.

        Returns:
            The sequences, stacked (None if nothing waited).
        """
        sequences = []
        while self._pending:
            sequences += self._cut_rest(self._pending.popitem(last=False)[1])
        return data.nested_stack(sequences) if sequences else None

    def _cut_rest(self, pending: _Pending) -> List[Dict[str, Any]]:
        return self._cut(pending, ended=True, terminated=False)

    def _cut(self, pending: _Pending, ended: bool,
             terminated: bool) -> List[Dict[str, Any]]:
        """The sequences cut from pending; drops the steps no longer needed."""
        steps = pending.steps
        n_steps = len(steps.reward)
        starts = sequence_starts(n_steps, self._length, self._overlap, ended,
                                 continued=pending.cut_any)
        sequences = [self._sequence(steps, start, terminated)
                     for start in starts]
        if starts:
            covered = min(starts[-1] + self._length, n_steps)
            self.n_steps_cut += covered - (self._overlap if pending.cut_any
                                           else 0)
            pending.cut_any = True
            keep_from = starts[-1] + self._length - self._overlap
            pending.steps = data.nested_map(
                lambda leaf: leaf[keep_from:], steps)
        return sequences

    def _sequence(self, steps: data.Transition, start: int,
                  episode_terminated: bool) -> Dict[str, Any]:
        length = self._length
        stop = min(start + length, len(steps.reward))
        valid = stop - start
        terminated = episode_terminated and stop == len(steps.reward)
        returns, bootstrap_index, discounts = n_step_lib.n_step_returns(
            np.asarray(steps.reward)[start:stop], terminated, self._n_step,
            self._discount)
        observations = np.concatenate([
            np.asarray(steps.observation[start:stop]),
            np.asarray(steps.next_observation[stop - 1:stop])])
        bootstrap_index = np.concatenate([
            bootstrap_index, np.full(length - valid, valid)])
        initial_state = {key: np.asarray(value[start], np.float32)
                         for key, value in steps.agent_info[STATE].items()}
        # An episode starts from the zero state (any later state is, in
        # practice, never exactly zero): it needs no burn-in.
        starts_episode = all(not value.any()
                             for value in initial_state.values())
        return {
            'observation': _pad(observations, length + 1),
            'action': _pad(np.asarray(steps.action[start:stop], np.int64),
                           length),
            'return': _pad(returns.astype(np.float32), length),
            'discount': _pad(discounts.astype(np.float32), length),
            'bootstrap_index': bootstrap_index.astype(np.int64),
            'mask': _pad(np.ones(valid, np.float32), length),
            'starts_episode': np.float32(starts_episode),
            'initial_state': initial_state,
        }

    def state_dict(self) -> Dict[str, Any]:
        """The waiting steps, by episode, oldest first, and the count of
        steps cut."""
        return {'pending': [(key, pending.steps, pending.cut_any)
                            for key, pending in self._pending.items()],
                'n_steps_cut': self.n_steps_cut}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict()."""
        self._pending = collections.OrderedDict()
        self.n_steps_cut = state['n_steps_cut']
        for key, steps, cut_any in state['pending']:
            pending = _Pending(steps)
            pending.cut_any = cut_any
            self._pending[key] = pending
