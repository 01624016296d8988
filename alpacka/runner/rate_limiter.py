"""The update-to-data contract of asynchronous training: a rate limiter.

Collectors insert transitions; the learner takes updates (each one batch of
samples). With ratio r (updates per env step), min size m and tolerance t,
the learner owes ``owed(I) = r * max(0, I - m)`` updates after I inserted
transitions (those that warm the replay up earn nothing, as in the
synchronous SoftActorCriticTrainer). With U updates taken:

- the learner may take update U + 1 when ``I >= max(m, 1)`` and
  ``U + 1 - owed(I) <= t`` (it never runs more than t updates ahead);
- a collector may start a chunk of c steps when, counting the ``F`` steps
  already in flight, ``owed(I + F + c) - U <= t`` (the data never runs more
  than t updates ahead of the learner), or while ``I + F + c <= m`` (still
  warming up).

When neither may move the run is deadlocked. With nothing in flight, the
learner blocked means ``owed(I) - U < 1 - t`` and a collector blocked means
``owed(I) - U > t - r c``; both at once need ``t - r c < 1 - t``. So
``t >= (r c + 1) / 2`` rules deadlock out (check_feasible).

This is Reverb's SampleToInsertRatio in updates rather than samples. All
methods are thread-safe: the feeder thread inserts, the prefetch thread
takes updates, the learner reads the figures.
"""

import threading
from typing import Any, Dict, Optional

from alpacka import errors


def check_feasible(updates_per_step: float, tolerance: float,
                   chunk_steps: int) -> None:
    """Refuses a ratio and tolerance that could deadlock.

    Args:
        updates_per_step: r, learner updates per env step.
        tolerance: t, in updates.
        chunk_steps: c, env steps in one collector chunk.

    Raises:
        ConfigError: r is not positive, or t < (r c + 1) / 2.
    """
    if not updates_per_step > 0:
        raise errors.ConfigError(
            f'AsyncTraining.updates_per_step = {updates_per_step} must be '
            f'positive: with no updates owed the learner would wait forever. '
            f'For collection without learning use the synchronous Runner.')
    needed = (updates_per_step * chunk_steps + 1) / 2
    if tolerance < needed:
        raise errors.ConfigError(
            f'AsyncTraining.rate_tolerance = {tolerance} updates is too small '
            f'for {updates_per_step} updates per step with chunks of '
            f'{chunk_steps} env steps: one chunk earns '
            f'{updates_per_step * chunk_steps:g} updates, so the learner and '
            f'the collectors could both be held with nothing in flight '
            f'(deadlock). Set AsyncTraining.rate_tolerance to at least '
            f'{needed:g}, or make chunks smaller '
            f'(AsyncTraining.steps_per_chunk or Runner.n_envs).')


class RateLimiter:
    """Keeps learner updates within a tolerance of the update-to-data ratio.

    Args:
        updates_per_step: r, updates owed per inserted env step.
        min_size: m, inserted steps before the first update.
        tolerance: t, how many updates the learner or the data may run
            ahead of the ratio (see the module docstring).
    """

    def __init__(self, updates_per_step: float, min_size: int,
                 tolerance: float):
        self._ratio = float(updates_per_step)
        self._min_size = int(min_size)
        self._tolerance = float(tolerance)
        self._inserted = 0
        self._updates = 0
        self._closed = False
        self._changed = threading.Condition()

    def _owed(self, inserted: int) -> float:
        return self._ratio * max(0, inserted - self._min_size)

    @property
    def min_size(self) -> int:
        """Inserted steps before the first update."""
        return self._min_size

    @property
    def inserted(self) -> int:
        """Env steps inserted so far."""
        return self._inserted

    @property
    def updates(self) -> int:
        """Updates taken so far."""
        return self._updates

    def can_update(self) -> bool:
        """Whether the learner may take one more update now."""
        return (self._inserted >= max(self._min_size, 1) and
                self._updates + 1 - self._owed(self._inserted)
                <= self._tolerance)

    def can_insert(self, in_flight: int, chunk_steps: int) -> bool:
        """Whether a collector may start a chunk of chunk_steps steps while
        in_flight steps are already being collected."""
        projected = self._inserted + in_flight + chunk_steps
        return (projected <= self._min_size or
                self._owed(projected) - self._updates <= self._tolerance)

    def record_insert(self, n_steps: int) -> None:
        """Counts n_steps inserted transitions and wakes the waiters."""
        with self._changed:
            self._inserted += n_steps
            self._changed.notify_all()

    def take_update(self, timeout: Optional[float] = None) -> bool:
        """Waits until one more update is allowed, then counts it.

        Args:
            timeout: Seconds to wait at most (None: until allowed or closed).

        Returns:
            Whether the update was counted (False: timed out or closed).
        """
        with self._changed:
            if not self._changed.wait_for(
                    lambda: self._closed or self.can_update(), timeout):
                return False
            if self._closed:
                return False
            self._updates += 1
            self._changed.notify_all()
            return True

    def wait_for_change(self, timeout: float) -> None:
        """Sleeps until an insert or update happens (or timeout seconds)."""
        with self._changed:
            self._changed.wait(timeout)

    def close(self) -> None:
        """Releases every waiter for good."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def state_dict(self, updates_done: Optional[int] = None
                   ) -> Dict[str, Any]:
        """The counts, for the checkpoint.

        Args:
            updates_done: Updates actually applied, when fewer than those
                taken (batches taken ahead but not trained on are not saved).
        """
        return {'inserted': self._inserted,
                'updates': self._updates if updates_done is None
                else updates_done}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores the counts from state_dict()."""
        with self._changed:
            self._inserted = int(state['inserted'])
            self._updates = int(state['updates'])
            self._changed.notify_all()
