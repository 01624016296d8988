"""n-step returns, and the accumulator that computes them across stretches.

Step-based collection hands a trainer each episode in stretches (a few steps
per env per call). An n-step target needs the n rewards after a step, so the
last n - 1 steps of an unfinished episode wait for its next stretch: the
``NStepAccumulator`` keeps them per episode, keyed by an episode id
(``agent_info['episode_id']``, which the Q-learning agents record).
"""

import collections
from typing import Any, Dict, Hashable, Optional, Tuple

import numpy as np

from alpacka import data


def n_step_returns(rewards: np.ndarray, terminated: bool, n_step: int,
                   discount: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partial n-step returns of one episode and how to bootstrap them.

    For step t the target is ``R_t + D_t * V(s_{B_t})`` with
    ``R_t = sum_{k < n, t + k < T} discount^k r_{t+k}``, ``B_t = min(t + n, T)``
    (the state reached after the window) and ``D_t = discount^(B_t - t)``,
    except that ``D_t = 0`` when the window reaches the end of an episode that
    terminated (a truncated episode still has a future to bootstrap).

    Args:
        rewards: [T] rewards of the episode.
        terminated: Whether the episode ended in a terminal state.
        n_step: Length of the reward window.
        discount: Per-step discount.

    Returns:
        ``(partial_returns [T], bootstrap_index [T] into the T + 1
        observations s_0 .. s_T, bootstrap_discount [T])``.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    n_steps = len(rewards)
    steps = np.arange(n_steps)
    partial_returns = np.zeros(n_steps)
    for k in range(n_step):
        in_window = steps + k < n_steps
        partial_returns[in_window] += discount ** k * rewards[steps[in_window] + k]
    bootstrap_index = np.minimum(steps + n_step, n_steps)
    bootstrap_discount = discount ** (bootstrap_index - steps).astype(np.float64)
    if terminated:
        bootstrap_discount[bootstrap_index == n_steps] = 0.0
    return partial_returns, bootstrap_index, bootstrap_discount


# agent_info key of the per-step episode id the Q-learning agents record.
EPISODE_ID = 'episode_id'


def stretch_episode_id(stretch: data.Transition) -> Optional[int]:
    """The episode id a stretch's steps carry, or None if they carry none."""
    info = stretch.agent_info or {}
    if EPISODE_ID not in info:
        return None
    return int(np.asarray(info[EPISODE_ID])[0])


def whole_episode_stretch(episode: data.Episode) -> data.Transition:
    """A whole episode as a stretch that ends it: its terminal flags
    (data.terminal_flags) and ``done`` at the last step only."""
    done = np.zeros(len(episode), bool)
    done[-1] = True
    return episode.transition_batch._replace(
        terminated=data.terminal_flags(episode), done=done)


def _concatenate(first: Optional[data.Transition],
                 second: data.Transition) -> data.Transition:
    if first is None:
        return second
    return data.nested_concatenate([first, second])


def _slice(batch: data.Transition, start: int,
           stop: Optional[int] = None) -> data.Transition:
    return data.nested_map(lambda leaf: leaf[start:stop], batch)


class NStepAccumulator:
    """Turns stretches of episodes into n-step datapoints.

    ``add(key, stretch)`` takes the next stretch of episode ``key`` (a
    Transition of arrays [T, ...] with ``terminated`` and ``done`` flags)
    and returns the datapoints whose window is now complete: every step of
    an episode that ended, else all but the last n - 1 steps, which wait.
    Each datapoint is ``{'observation', 'action', 'return', 'discount',
    'next_observation'}`` with the target
    ``return + discount * V(next_observation)`` (see n_step_returns).

    Args:
        n_step: Length of the reward window.
        discount: Per-step discount.
        max_pending: Episodes kept waiting at most; beyond it the oldest is
            flushed (an env whose episode never continues, e.g. after a
            collector restart or a resumed run, must not leak memory).
    """

    def __init__(self, n_step: int, discount: float, max_pending: int = 10_000):
        self._n_step = n_step
        self._discount = discount
        self._max_pending = max_pending
        # Episode key -> its steps still waiting for their windows.
        self._pending: 'collections.OrderedDict[Hashable, data.Transition]' = (
            collections.OrderedDict())

    @property
    def n_pending_steps(self) -> int:
        """Steps waiting for the rest of their episodes."""
        return sum(len(batch.reward) for batch in self._pending.values())

    def add(self, key: Hashable,
            stretch: data.Transition) -> Optional[Dict[str, Any]]:
        """Adds the next stretch of one episode.

        Args:
            key: The episode's id.
            stretch: Its next steps, stacked [T, ...], with per-step
                ``terminated`` and ``done`` flags.

        Returns:
            The complete datapoints, stacked [N, ...] (None if none yet).
        """
        steps = _concatenate(self._pending.pop(key, None), stretch)
        ended = bool(np.asarray(steps.done)[-1])
        if ended:
            return self._datapoints(steps, len(steps.reward),
                                    bool(np.asarray(steps.terminated)[-1]))
        n_ready = len(steps.reward) - (self._n_step - 1)
        if n_ready < len(steps.reward):
            self._pending[key] = _slice(steps, max(n_ready, 0))
        while len(self._pending) > self._max_pending:
            self._flush_one()
        if n_ready <= 0:
            return None
        return self._datapoints(steps, n_ready, terminated=False)

    def flush(self) -> Optional[Dict[str, Any]]:
        """Every waiting step as a datapoint of a shorter window.

        A waiting step is bootstrapped from the last state its episode
        reached (as if truncated there): an unbiased, shorter target.

        Returns:
            The datapoints, stacked (None if nothing waited).
        """
        batches = []
        while self._pending:
            batches.append(self._flush_one())
        if not batches:
            return None
        return data.nested_concatenate(batches)

    def _flush_one(self) -> Dict[str, Any]:
        _, steps = self._pending.popitem(last=False)
        return self._datapoints(steps, len(steps.reward), terminated=False)

    def _datapoints(self, steps: data.Transition, n_ready: int,
                    terminated: bool) -> Dict[str, Any]:
        """The datapoints of the first n_ready steps of a run of steps."""
        returns, bootstrap_index, discounts = n_step_returns(
            steps.reward, terminated, self._n_step, self._discount)
        # s_0 .. s_T: the observations, then the last next_observation.
        states = data.nested_concatenate([
            steps.observation,
            data.nested_map(lambda leaf: leaf[-1:], steps.next_observation)])
        index = bootstrap_index[:n_ready]
        return {
            'observation': data.nested_map(lambda leaf: leaf[:n_ready],
                                           steps.observation),
            'action': np.asarray(steps.action)[:n_ready],
            'return': returns[:n_ready].astype(np.float32),
            'discount': discounts[:n_ready].astype(np.float32),
            'next_observation': data.nested_map(lambda leaf: leaf[index],
                                                states),
        }

    def state_dict(self) -> Dict[str, Any]:
        """The waiting steps, by episode, oldest first."""
        return {'pending': list(self._pending.items())}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict()."""
        self._pending = collections.OrderedDict(state['pending'])
