"""Training batches prepared ahead of the learner, under the rate limiter.

A background thread waits for the rate limiter to allow one more update,
samples that update's batch from the replay (under the replay's lock, as
collectors' chunks are inserted from another thread) and queues it, up to
``depth`` batches ahead. The learner takes batches from the queue, so it
never waits on sampling, only on the rate limiter when it runs ahead of the
data.

A trainer whose batches need the network (targets computed with the target
network at sampling time) must sample in the learner's thread, between its
updates: then ``threaded=False`` samples inline, after the same wait.
"""

import queue
import threading
import time
from typing import Any, Callable, Iterator, Optional

from alpacka.runner import rate_limiter as rate_limiter_lib

# How often a waiting thread looks up from its wait to check for shutdown.
_POLL_S = 0.05


class BatchPrefetcher:
    """Streams training batches, each one counted as an update by the limiter.

    Args:
        sample_fn: Zero-argument callable returning one training batch
            (called with replay_lock held).
        limiter: The run's RateLimiter.
        replay_lock: The lock that guards the replay.
        depth: Batches prepared ahead.
        threaded: Sample in a background thread (False: in the caller's).
    """

    def __init__(self, sample_fn: Callable[[], Any],
                 limiter: rate_limiter_lib.RateLimiter,
                 replay_lock: threading.Lock, depth: int = 2,
                 threaded: bool = True):
        self._sample_fn = sample_fn
        self._limiter = limiter
        self._lock = replay_lock
        self._queue: 'queue.Queue[Any]' = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: Optional[BaseException] = None
        self._threaded = threaded
        self._thread = None
        # Seconds the consumer waited for a batch, and of those how many the
        # limiter held it (the rest: sampling did not keep up).
        self.wait_s = 0.0
        self.rate_limited_s = 0.0
        if threaded:
            self._thread = threading.Thread(target=self._fill, daemon=True,
                                            name='alpacka-batch-prefetch')
            self._thread.start()

    def _sample(self) -> Any:
        with self._lock:
            return self._sample_fn()

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._limiter.take_update(timeout=_POLL_S):
                    continue
                batch = self._sample()
                while not self._stop.is_set():
                    try:
                        self._queue.put(batch, timeout=_POLL_S)
                        break
                    except queue.Full:
                        pass
        except BaseException as error:  # pylint: disable=broad-except
            self._error = error  # Raised by the consumer (see next_batch).

    @property
    def n_ready(self) -> int:
        """Batches prepared and not yet taken (their updates are counted)."""
        return self._queue.qsize()

    def next_batch(self, keep_waiting: Callable[[], bool]) -> Optional[Any]:
        """The next batch, waiting while keep_waiting() is true.

        Returns:
            A batch, or None once keep_waiting() turned false first.

        Raises:
            Exception: what sampling raised in the background thread.
        """
        start = time.perf_counter()
        try:
            while True:
                if self._error is not None:
                    raise self._error
                poll_start = time.perf_counter()
                if self._threaded:
                    try:
                        return self._queue.get(timeout=_POLL_S)
                    except queue.Empty:
                        pass
                elif self._limiter.take_update(timeout=_POLL_S):
                    return self._sample()
                if not self._limiter.can_update():
                    self.rate_limited_s += time.perf_counter() - poll_start
                if not keep_waiting():
                    return None
        finally:
            self.wait_s += time.perf_counter() - start

    def stream(self, n_batches: int, keep_waiting: Callable[[], bool]
               ) -> Callable[[], Iterator[Any]]:
        """A ``data_stream`` for network.train: up to n_batches batches,
        ending early once keep_waiting() turns false while waiting."""
        def data_stream() -> Iterator[Any]:
            for _ in range(n_batches):
                batch = self.next_batch(keep_waiting)
                if batch is None:
                    return
                yield batch
        return data_stream

    def close(self) -> None:
        """Stops the background thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
