"""The asynchronous actor-learner pipeline behind Runner.async_training.

Three threads of control in the driver, and the collectors in Ray:

- the **feeder** thread keeps every collector busy with one chunk at a time
  (while the rate limiter allows: backpressure), receives finished chunks
  as they come (``ray.wait``), inserts their transitions into the trainer's
  replay and replaces a collector that died (its chunk in flight is lost;
  nothing of it reaches the replay);
- the **prefetch** thread (batch_prefetch) samples training batches ahead,
  one per update the limiter allows;
- the **learner**, the Runner's own thread, trains the network on those
  batches, ``broadcast_every`` updates per ``network.train`` call, and puts
  the new parameters in the object store once per call for all collectors.

Epochs are counted in inserted env steps. The feeder never inserts past the
current epoch's last step: chunks that arrive later wait until the Runner
has logged and checkpointed the epoch, so a checkpoint's replay holds
exactly the steps its counters say, and a resumed run counts none twice.
"""

import contextlib
import logging
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from alpacka import data
from alpacka import metric_logging
from alpacka.batch_steppers import collectors as collectors_lib
from alpacka.runner import async_training
from alpacka.runner import batch_prefetch
from alpacka.runner import rate_limiter as rate_limiter_lib

_logger = logging.getLogger(__name__)

# How long the feeder waits for a chunk before looking at its other duties.
_WAIT_S = 0.02


class _Chunk:
    """A chunk in flight: which collector, its size, the params version."""

    def __init__(self, collector: int, n_steps: int, version: int):
        self.collector = collector
        self.n_steps = n_steps
        self.version = version


class _EpochData:
    """What the feeder gathered for the epoch in progress."""

    def __init__(self):
        self.episodes: List[data.Episode] = []
        self.records: list = []
        self.policy_lags: List[int] = []
        self.collector_idle_s = 0.0


class AsyncPipeline:
    """Collectors streaming into the trainer's replay; the learner's loop.

    Args:
        settings: The AsyncTraining settings.
        rates: The resolved RateSettings.
        env_fn: Zero-argument env factory.
        agent_class: The OnlineAgent constructor.
        network_fn: Zero-argument network factory (the collectors' copies).
        n_envs: Envs per collector.
        network: The learner's network.
        trainer: The learner's ReplayTrainer (owns the replay).
        output_dir: Where collectors may write.
        seed: The collectors' base seed.
        env_steps: The run's env steps so far (from its checkpoint).
        time_limit: Maximum steps per episode.
        set_stage: Called with 'gather' or 'train': what the run is doing,
            for its failure message.
        state: The pipeline's state_dict() from the checkpoint, or None.
    """

    def __init__(self, settings: async_training.AsyncTraining,
                 rates: async_training.RateSettings, *, env_fn: Callable,
                 agent_class: Callable, network_fn: Callable, n_envs: int,
                 network: Any, trainer: Any, output_dir: Optional[str],
                 seed: Optional[int], env_steps: int,
                 time_limit: Optional[int],
                 set_stage: Callable[[str], None],
                 state: Optional[Dict[str, Any]] = None):
        import ray  # pylint: disable=import-outside-toplevel
        self._ray = ray
        self._settings = settings
        self._network = network
        self._trainer = trainer
        self._time_limit = time_limit
        self._set_stage = set_stage
        self._steps_per_chunk = settings.steps_per_chunk
        self._chunk_steps = rates.chunk_steps
        self._limiter = rate_limiter_lib.RateLimiter(
            rates.updates_per_step, rates.min_replay_size, rates.tolerance)
        self._updates_done = 0
        self._restarts = 0
        if state is not None:
            self._limiter.load_state_dict(state['rate_limiter'])
            self._updates_done = self._limiter.updates
            self._restarts = int(state.get('collector_restarts', 0))
        if self._limiter.inserted != env_steps:
            # A checkpoint of the synchronous Runner, resumed asynchronously.
            self._limiter.load_state_dict({'inserted': env_steps,
                                           'updates': self._updates_done})
        self._replay_lock = threading.Lock()
        self._data_lock = threading.Lock()
        self._epoch_data = _EpochData()
        self._insert_limit = env_steps
        self._assigned_steps = env_steps  # Global step of the next chunk.
        self._agent_epoch = 0
        self._pending: Dict[Any, _Chunk] = {}
        self._held: List[Tuple[Any, _Chunk]] = []
        self._idle_since: Dict[int, float] = {}
        self._error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._feeder = None
        self._prefetcher = None
        self._collectors = None
        self._inference = None
        try:
            self._params = (ray.put(network.params), self._updates_done)
            if settings.inference == 'shared':
                network_fn = self._start_inference_server(network_fn)
            self._collectors = collectors_lib.RayCollectors(
                env_fn, agent_class, network_fn, n_envs=n_envs,
                n_collectors=settings.n_collectors, output_dir=output_dir,
                seed=seed, num_cpus=settings.collector_cpus)
            now = time.perf_counter()
            self._idle_since = {index: now
                                for index in range(settings.n_collectors)}
            self._prefetcher = batch_prefetch.BatchPrefetcher(
                lambda: trainer.sample_batch(network), self._limiter,
                self._replay_lock, depth=settings.prefetch_batches,
                threaded=not trainer.samples_use_network)
            self._feeder = threading.Thread(target=self._feed, daemon=True,
                                            name='alpacka-feeder')
            self._feeder.start()
        except BaseException:
            self.close()
            raise
        self._last_epoch_end = time.perf_counter()

    def _start_inference_server(self, network_fn: Callable) -> Callable:
        """Starts the shared inference actor; returns the collectors'
        stand-in network factory."""
        from alpacka.batch_steppers import inference_server  # pylint: disable=import-outside-toplevel
        # Started with the learner's params in place before any request.
        self._inference = inference_server.InferenceServer.start(
            network_fn, params=self._params[0],
            num_cpus=self._settings.inference_cpus,
            num_gpus=self._settings.inference_gpus)
        return inference_server.served_network_fn(self._inference.handle)

    # -- The feeder thread. ----------------------------------------------------

    def _feed(self) -> None:
        try:
            while not self._stop.is_set():
                self._insert_held()
                self._submit_allowed()
                if not self._pending:
                    self._limiter.wait_for_change(_WAIT_S)
                    continue
                ready, _ = self._ray.wait(list(self._pending), num_returns=1,
                                          timeout=_WAIT_S)
                for ref in ready:
                    self._receive(ref)
        except BaseException as error:  # pylint: disable=broad-except
            self._error = error  # Raised in the learner's thread.
            self._limiter.close()

    def _in_flight_steps(self) -> int:
        return self._chunk_steps * (len(self._pending) + len(self._held))

    def _submit_allowed(self) -> None:
        busy = {chunk.collector for chunk in self._pending.values()}
        for index in range(self._collectors.n_collectors):
            if index in busy or not self._limiter.can_insert(
                    self._in_flight_steps(), self._chunk_steps):
                continue
            params_ref, version = self._params
            ref = self._collectors.submit(
                index, params_ref, self._steps_per_chunk,
                epoch=self._agent_epoch, time_limit=self._time_limit,
                env_steps=self._assigned_steps)
            self._assigned_steps += self._chunk_steps
            self._pending[ref] = _Chunk(index, self._chunk_steps, version)
            idle_since = self._idle_since.pop(index, None)
            if idle_since is not None:
                self._epoch_data.collector_idle_s += (
                    time.perf_counter() - idle_since)

    def _receive(self, ref: Any) -> None:
        chunk = self._pending.pop(ref)
        self._idle_since[chunk.collector] = time.perf_counter()
        try:
            result = self._ray.get(ref)
        except self._ray.exceptions.RayActorError as error:
            self._restarts += 1
            _logger.warning(
                'Collector %d died (%s); replacing it. Its chunk in flight '
                '(%d env steps) is lost.', chunk.collector,
                type(error).__name__, chunk.n_steps)
            self._collectors.replace(chunk.collector)
            return
        self._held.append((result, chunk))
        self._insert_held()

    def _insert_held(self) -> None:
        """Inserts held chunks, in arrival order, up to the epoch's end."""
        while self._held and (self._limiter.inserted + self._held[0][1].n_steps
                              <= self._insert_limit):
            (step_batch, records), chunk = self._held.pop(0)
            with self._replay_lock:
                for transition_batch in step_batch.transition_batches:
                    self._trainer.add_transitions(transition_batch)
            with self._data_lock:
                self._epoch_data.episodes.extend(step_batch.episodes)
                self._epoch_data.records.extend(records)
                self._epoch_data.policy_lags.append(
                    self._updates_done - chunk.version)
            self._limiter.record_insert(step_batch.n_steps)

    # -- The learner. ----------------------------------------------------------

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            self._set_stage('gather')
            raise self._error

    def _counted_stream(self, n_batches: int, keep_waiting: Callable[[], bool],
                        counter: List[int]) -> Callable[[], Iterator[Any]]:
        stream = self._prefetcher.stream(n_batches, keep_waiting)

        def data_stream() -> Iterator[Any]:
            for batch in stream():
                counter[0] += 1
                yield batch
        return data_stream

    def run_epoch(self, agent_epoch: int, epoch_end_steps: int
                  ) -> Tuple[List[data.Episode], List[Dict[str, float]],
                             Dict[str, float]]:
        """Trains until the replay holds epoch_end_steps env steps.

        Args:
            agent_epoch: The epoch agents see (parameter schedules).
            epoch_end_steps: The run's env steps at the end of this epoch.

        Returns:
            ``(episodes, train_chunks, async_metrics)``: the episodes that
            ended in the epoch, the metrics of each network.train call (with
            'n_updates'), and the async/* metrics.

        Raises:
            Exception: what a collector, inserting or training raised.
        """
        self._agent_epoch = agent_epoch
        self._insert_limit = epoch_end_steps
        start_steps, start_updates = self._limiter.inserted, self._updates_done
        broadcast_s = train_s = 0.0
        wait_before = self._prefetcher.wait_s
        limited_before = self._prefetcher.rate_limited_s
        train_chunks = []

        def epoch_running() -> bool:
            return (self._limiter.inserted < epoch_end_steps and
                    self._error is None)

        while epoch_running():
            self._set_stage('train')
            counter = [0]
            call_start = time.perf_counter()
            metrics = self._network.train(
                self._counted_stream(self._settings.broadcast_every,
                                     epoch_running, counter),
                self._settings.broadcast_every)
            train_s += time.perf_counter() - call_start
            self._raise_if_failed()
            if not counter[0]:
                continue
            self._updates_done += counter[0]
            train_chunks.append({**metrics, 'n_updates': float(counter[0])})
            put_start = time.perf_counter()
            self._params = (self._ray.put(self._network.params),
                            self._updates_done)
            if self._inference is not None:
                self._inference.set_params(self._params[0])
            broadcast_s += time.perf_counter() - put_start
        self._raise_if_failed()

        with self._data_lock:
            epoch_data, self._epoch_data = self._epoch_data, _EpochData()
        metric_logging.replay(epoch_data.records)
        now = time.perf_counter()
        wall_s = max(now - self._last_epoch_end, 1e-9)
        self._last_epoch_end = now
        wait_s = self._prefetcher.wait_s - wait_before
        n_updates = self._updates_done - start_updates
        lags = epoch_data.policy_lags or [0]
        async_metrics = {
            'env_steps_per_s': (self._limiter.inserted - start_steps) / wall_s,
            'updates_per_s': n_updates / wall_s,
            'learner_busy_fraction': max(train_s - wait_s, 0.0) / wall_s,
            'learner_rate_limited_fraction': (
                self._prefetcher.rate_limited_s - limited_before) / wall_s,
            'learner_wait_fraction': wait_s / wall_s,
            'broadcast_fraction': broadcast_s / wall_s,
            'collector_idle_fraction': epoch_data.collector_idle_s / (
                wall_s * self._collectors.n_collectors),
            'replay_size': float(len(self._trainer.replay_buffer)),
            'policy_lag_mean': float(np.mean(lags)),
            'policy_lag_max': float(np.max(lags)),
            'collector_restarts': float(self._restarts),
            'updates_per_step': self._updates_done / max(
                self._limiter.inserted - self._limiter.min_size, 1),
        }
        return epoch_data.episodes, train_chunks, async_metrics

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Holds insertion and sampling (e.g. while the replay is saved)."""
        with self._replay_lock:
            yield

    @property
    def collectors(self) -> Optional[collectors_lib.RayCollectors]:
        """The collectors (for tests and diagnostics)."""
        return self._collectors

    def state_dict(self) -> Dict[str, Any]:
        """The rate limiter's counts and the restarts, JSON-serialisable."""
        return {'rate_limiter': self._limiter.state_dict(self._updates_done),
                'collector_restarts': self._restarts}

    def close(self) -> None:
        """Stops the threads, the collectors and the inference actor."""
        self._stop.set()
        self._limiter.close()
        if self._feeder is not None:
            self._feeder.join()
            self._feeder = None
        if self._prefetcher is not None:
            self._prefetcher.close()
            self._prefetcher = None
        if self._collectors is not None:
            self._collectors.close()
            self._collectors = None
        if self._inference is not None:
            self._inference.close()
            self._inference = None
