"""RayBatchStepper: env-agent pairs spread over long-lived Ray actors.

Each worker is a Ray actor that hosts a LocalBatchStepper over its share of
the envs, so inference inside a worker is still batched. Workers are created
once, with the driver's Gin config and ``sys.path``, and reused by every
``run_episode_batch`` call; the network parameters travel through the object
store once per call.

Ray is imported only when a RayBatchStepper is constructed (or ``init_ray`` is
called), so ``import alpacka`` never imports it. Starting a local Ray instance
takes seconds (about 20 s on a busy 2-core machine) and each worker about a
second more; both happen in the constructor.

Who shuts Ray down: whoever started it. If Ray is already initialized (by
``init_ray``, ``ray.init`` or because this process is itself a Ray worker), a
stepper reuses it and never shuts it down. If a stepper had to start Ray, Ray
stays up while any RayBatchStepper of this process is open and is shut down
when the last one closes. So a Runner that creates one stepper per run leaves
no Ray processes behind, the several steppers nested in ShootingAgents share
one Ray instance, and a program that wants Ray to outlive its steppers calls
``init_ray()`` itself first.

Metrics that agents, envs or nested steppers log in a worker through
``alpacka.metric_logging`` are buffered in the worker, returned with its
episodes and replayed into the driver's loggers by ``run_episode_batch``,
worker by worker, before it returns.
"""

import functools
import logging
import os
import sys
from typing import (Annotated, Any, Callable, Dict, List, Optional, Sequence,
                    Tuple)

import cloudpickle
import numpy as np

from alpacka import data
from alpacka import errors
from alpacka import metric_logging
from alpacka.batch_steppers import core
from alpacka.batch_steppers import local
from alpacka.utils import gin_config as gin_config_lib
from alpacka.utils import seeding
from alpacka.utils import validation

_logger = logging.getLogger(__name__)

# How long close() lets workers close their envs and agents before killing them.
_CLOSE_TIMEOUT_S = 5.0
# Local Ray starts tried before giving up (see init_ray).
_LOCAL_START_ATTEMPTS = 2


def init_ray(num_cpus: Optional[int] = None,
             temp_dir: Optional[str] = None) -> bool:
    """Connects to Ray, starting a local instance if there is none.

    If Ray is already initialized in this process, does nothing. If the
    ``RAY_ADDRESS`` environment variable is set, connects to that cluster
    (``num_cpus`` and ``temp_dir`` are then ignored: the cluster has its own).
    Otherwise starts a local instance without the dashboard, with usage-stats
    collection off and Ray's own logging at WARNING level. Workers' output is
    still forwarded to the driver, so agents' prints and warnings stay visible.

    Args:
        num_cpus: CPUs of the local instance (None: ``os.cpu_count()``).
        temp_dir: Root of Ray's temporary files and sockets for the local
            instance (None: Ray's default, /tmp/ray). Keep it short: Unix
            socket paths under it must stay below 107 characters.

    Returns:
        True if this call initialized Ray (the caller then owns the
        connection and may ``ray.shutdown()`` it), False if Ray was already
        initialized.
    """
    import ray  # pylint: disable=import-outside-toplevel
    if ray.is_initialized():
        return False
    os.environ.setdefault('RAY_USAGE_STATS_ENABLED', '0')
    common_kwargs = {'logging_level': logging.WARNING, 'log_to_driver': True}
    if os.environ.get('RAY_ADDRESS'):
        try:
            ray.init(**common_kwargs)
        except ConnectionError as error:
            raise errors.RayUnavailableError(
                f'Could not connect to the Ray cluster at RAY_ADDRESS='
                f'{os.environ["RAY_ADDRESS"]} ({error}). Check that its head '
                f'is up (`ray status --address=...`) and, if it uses token '
                f'authentication, that this process has its token; or unset '
                f'RAY_ADDRESS to start a local Ray.') from error
    else:
        _hide_slow_optional_imports()
        for attempt in range(_LOCAL_START_ATTEMPTS):
            try:
                # address='local' starts a new instance even when an
                # instance started with `ray start` runs on this machine.
                ray.init(address='local', num_cpus=num_cpus or os.cpu_count(),
                         include_dashboard=False, _temp_dir=temp_dir,
                         **common_kwargs)
                break
            except Exception as error:  # pylint: disable=broad-except
                # On a loaded machine the raylet gives up on its slow
                # metrics agent after a fixed 15 s (ray-project/ray#65983)
                # and Ray reports a startup timeout: try once more.
                if 'timed out during startup' not in str(error):
                    raise
                ray.shutdown()
                if attempt + 1 == _LOCAL_START_ATTEMPTS:
                    raise errors.RayUnavailableError(
                        f'Ray failed to start a local instance '
                        f'{_LOCAL_START_ATTEMPTS} times ({error}); on a '
                        f'heavily loaded machine its raylet gives up after '
                        f'15 s. Re-run when the machine is less busy (a '
                        f're-run resumes from the last checkpoint), or start '
                        f'Ray yourself (`ray start --head`) and set '
                        f'RAY_ADDRESS.') from error
                _logger.warning('Ray failed to start (%s); retrying.', error)
    return True


def _hide_slow_optional_imports() -> None:
    """Puts _ray_stubs first on the PYTHONPATH the local Ray's processes
    inherit (this process's own imports are unaffected); see
    _ray_stubs/rfc3987_syntax.py."""
    stubs = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         '_ray_stubs')
    paths = [path for path in os.environ.get('PYTHONPATH', '').split(os.pathsep)
             if path]
    if stubs not in paths:
        os.environ['PYTHONPATH'] = os.pathsep.join([stubs] + paths)


class RayOwnership:
    """Which Ray instance the steppers of this process started, and its users."""
    started_by_stepper = False
    n_open_steppers = 0

    @classmethod
    def acquire(cls) -> None:
        """Makes sure Ray is up and counts one more open stepper."""
        if init_ray():
            cls.started_by_stepper = True
        cls.n_open_steppers += 1

    @classmethod
    def release(cls) -> None:
        """Counts one stepper less; shuts Ray down after the last one if a
        stepper started it."""
        cls.n_open_steppers -= 1
        if cls.n_open_steppers == 0 and cls.started_by_stepper:
            import ray  # pylint: disable=import-outside-toplevel
            cls.started_by_stepper = False
            ray.shutdown()


def check_cpus_fit(needed: float, who: str, advice: str = '') -> None:
    """Refuses actors whose CPU reservations exceed the Ray cluster's CPUs
    (Ray would leave the excess pending forever).

    Args:
        needed: CPUs the actors reserve together.
        who: The actors and the settings that size them, for the message.
        advice: What to change, appended to the message.

    Raises:
        ConfigError: needed exceeds the cluster's CPUs.
    """
    import ray  # pylint: disable=import-outside-toplevel
    available = ray.cluster_resources().get('CPU', 0)
    if needed > available:
        raise errors.ConfigError(
            f'{who} need {needed:g} CPUs, but the Ray cluster has '
            f'{available:g}.{advice}')


def wait_until_started(actors: Sequence[Any], role: str) -> None:
    """Waits until every _Worker actor is up.

    Raises:
        RuntimeError: one failed to start (``'<role> <index> failed to
            start'`` and Ray's reason).
    """
    import ray  # pylint: disable=import-outside-toplevel
    for index, actor in enumerate(actors):
        try:
            ray.get(actor.pid.remote())
        except ray.exceptions.RayActorError as error:
            raise RuntimeError(
                f'{role} {index} failed to start:\n{error}') from error


def kill_actor(actor: Any) -> None:
    """Kills an actor for good (nothing happens if it is already gone)."""
    import ray  # pylint: disable=import-outside-toplevel
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # pylint: disable=broad-except
        pass  # Already gone.


def close_actors(actors: Sequence[Any]) -> None:
    """Lets _Worker actors close their envs and agents (for a few seconds at
    most), then kills them."""
    import ray  # pylint: disable=import-outside-toplevel
    if not actors or not ray.is_initialized():
        return
    close_refs = [actor.close.remote() for actor in actors]
    ray.wait(close_refs, num_returns=len(close_refs), timeout=_CLOSE_TIMEOUT_S)
    for actor in actors:
        kill_actor(actor)


def _extend_sys_path(paths: Sequence[str]) -> None:
    """Appends the driver's sys.path entries that exist here and are missing."""
    for path in paths:
        if path not in sys.path and os.path.exists(path):
            sys.path.append(path)


def driver_context(factories: Any) -> Dict[str, Any]:
    """What a Ray actor needs of the driver to rebuild factories there.

    Args:
        factories: Picklable (with cloudpickle) objects, e.g. a tuple of
            env, agent and network factories.

    Returns:
        Keyword arguments for adopt_driver_context, run in the actor: the
        pickled factories, the driver's Gin config and its sys.path.
    """
    worker_config = gin_config_lib.config_for_workers()
    return {
        'factories': cloudpickle.dumps(factories),
        'gin_config': worker_config.config_str,
        'gin_modules': worker_config.modules,
        'sys_path': list(dict.fromkeys(
            os.path.abspath(path) for path in sys.path)),
    }


def adopt_driver_context(factories: bytes, gin_config: str,
                         gin_modules: Sequence[str],
                         sys_path: Sequence[str]) -> Any:
    """In a Ray actor: takes the driver's sys.path and Gin config (see
    driver_context), then returns the unpickled factories.

    The factories are unpickled only after sys.path is extended, so that
    user modules next to the driver import.
    """
    _extend_sys_path(sys_path)
    gin_config_lib.import_modules(gin_modules)
    factories = cloudpickle.loads(factories)
    gin_config_lib.parse_in_worker(gin_config)
    return factories


class _Worker:
    """The body of one Ray actor: a LocalBatchStepper over a share of the envs.

    Args:
        factories: cloudpickle of ``(env_class, agent_class, network_fn)``,
            unpickled only after sys.path is extended so that user modules
            next to the driver import.
        gin_config: The driver's ``gin.config_str()``.
        gin_modules: Modules to import before parsing gin_config (see
            alpacka.utils.gin_config.WorkerConfig).
        sys_path: The driver's sys.path.
        n_envs: Envs of this worker.
        output_dir: Passed to the LocalBatchStepper.
        seed: The stepper's seed (None: unseeded).
        first_env_index: Index of this worker's first env in the batch.
        n_envs_in_batch: Envs in the whole batch.
    """

    def __init__(self, factories: bytes, gin_config: str,
                 gin_modules: Sequence[str], sys_path: Sequence[str],
                 n_envs: int, output_dir: Optional[str],
                 seed: Optional[int], first_env_index: int,
                 n_envs_in_batch: int):
        # Whatever this process logs goes back to the driver.
        self._metrics = metric_logging.BufferingLogger()
        metric_logging.register_logger(self._metrics)
        env_class, agent_class, network_fn = adopt_driver_context(
            factories, gin_config, gin_modules, sys_path)
        if seed is not None:
            seeding.set_global_seed(
                seeding.derive_seed(seed, first_env_index,
                                    seeding.FromStepperSeed.RAY_WORKER))
        self._stepper = local.LocalBatchStepper(
            env_class, agent_class, network_fn, n_envs, output_dir, seed,
            first_env_index=first_env_index, n_envs_in_batch=n_envs_in_batch)

    def pid(self) -> int:
        """The worker's process id (also tells the driver it is ready)."""
        del self
        return os.getpid()

    def node_id(self) -> str:
        """The id (hex) of the Ray node this worker runs on."""
        del self
        import ray  # pylint: disable=import-outside-toplevel
        return ray.get_runtime_context().get_node_id()

    def run_episode_batch(
            self, params: Any,
            batched_solve_kwargs: Optional[Dict[str, Sequence[Any]]],
            common_solve_kwargs: Dict[str, Any]
    ) -> Tuple[List[data.Episode], List[metric_logging.capture.Record]]:
        """LocalBatchStepper.run_episode_batch on this worker's envs.

        Returns:
            ``(episodes, records)``: the records are what this process
            logged since the last call (see metric_logging.capture).
        """
        episodes = self._stepper.run_episode_batch(
            params, batched_solve_kwargs, **common_solve_kwargs)
        return episodes, self._metrics.drain()

    def run_steps(self, params: Any, n_steps: int, epoch: Optional[int],
                  time_limit: Optional[int], env_steps: Optional[int]
                  ) -> Tuple[data.StepBatch, List[metric_logging.capture.Record]]:
        """LocalBatchStepper.run_steps on this worker's envs.

        Returns:
            ``(step_batch, records)``, as run_episode_batch.
        """
        step_batch = self._stepper.run_steps(
            params, n_steps, epoch=epoch, time_limit=time_limit,
            env_steps=env_steps)
        return step_batch, self._metrics.drain()

    def close(self) -> None:
        """Closes the worker's envs and agents (and their nested steppers)."""
        self._stepper.close()


def worker_arguments(env_class: Callable, agent_class: Callable,
                     network_fn: Optional[Callable],
                     output_dir: Optional[str]) -> Dict[str, Any]:
    """What every _Worker is started with, besides its share of the envs.

    The factories are cloudpickled and the driver's Gin config and sys.path
    taken now (see driver_context): bindings made in the driver later do not
    reach the workers.
    """
    return {**driver_context((env_class, agent_class, network_fn)),
            'output_dir': output_dir}


@functools.lru_cache(maxsize=None)
def remote_class(cls: type) -> Any:
    """The Ray actor class of cls, made on first use (importing Ray then)."""
    import ray  # pylint: disable=import-outside-toplevel
    return ray.remote(cls)


def remote_worker() -> Any:
    """The Ray actor class of _Worker, made on first use."""
    return remote_class(_Worker)


def _writable(episodes: List[data.Episode]) -> List[data.Episode]:
    """Episodes whose arrays are writable copies where Ray gave read-only views.

    Ray deserializes numpy arrays as read-only views of its object store;
    copying them keeps the stepper a drop-in replacement for
    LocalBatchStepper, whose episodes callers may modify in place.
    """
    def copy_if_read_only(leaf):
        if isinstance(leaf, np.ndarray) and not leaf.flags.writeable:
            return leaf.copy()
        return leaf
    return [data.nested_map(copy_if_read_only, episode) for episode in episodes]


def _split_evenly(n_items: int, n_parts: int) -> List[Tuple[int, int]]:
    """``[(start, stop)]`` of n_parts contiguous ranges, the first ones longer."""
    base, extra = divmod(n_items, n_parts)
    ranges = []
    start = 0
    for part in range(n_parts):
        stop = start + base + (1 if part < extra else 0)
        ranges.append((start, stop))
        start = stop
    return ranges


@validation.configurable(module='alpacka.batch_steppers')
class RayBatchStepper(core.BatchStepper):
    """Runs the env-agent pairs in long-lived Ray actors, several per actor.

    Worker w hosts a LocalBatchStepper over a contiguous share of the envs
    (shares differ by at most one env). Each env and agent is seeded by its
    index in the whole batch, as LocalBatchStepper seeds them, so a seeded
    run gives the same episodes with either stepper and any n_workers.

    Workers receive the driver's Gin config and sys.path when they start;
    bindings made in the driver afterwards do not reach them.

    A worker that dies (its process killed, out of memory, a lost node) is
    replaced and its share of the batch rerun once; the replacement starts
    from fresh envs and agents. An exception raised by an agent or env in a
    worker is re-raised by run_episode_batch as Ray's RayTaskError, which is
    also an instance of the original exception type and carries its message
    and the worker's traceback.

    Episodes come back through the object store, pickled with numpy's
    out-of-band buffers; the driver copies their arrays once, so they are
    writable as LocalBatchStepper's are.

    Args:
        env_class: Zero-argument callable making an env (picklable with
            cloudpickle).
        agent_class: Zero-argument callable making an agent.
        network_fn: Zero-argument callable making a network.
        n_envs: Number of env-agent pairs (episodes per batch).
        output_dir: Where the stepper may write (None: nowhere).
        seed: Base seed (None: unseeded).
        n_workers: Number of Ray actors (None: the number of CPUs Ray
            reports); never more than n_envs.
        worker_cpus: CPUs Ray reserves for each worker while it lives (None:
            none, Ray's default for actors). Workers are spread over the
            nodes best effort ('SPREAD'); reserving CPUs makes Ray place
            them where the CPUs are, and never more than a node has.
    """

    def __init__(self, env_class: Callable, agent_class: Callable,
                 network_fn: Optional[Callable],
                 n_envs: Annotated[int, validation.AtLeast(1)],
                 output_dir: Optional[str] = None,
                 seed: Optional[int] = None,
                 n_workers: Annotated[
                     Optional[int], validation.AtLeast(1)] = None,
                 worker_cpus: Annotated[
                     Optional[float], validation.GreaterThan(0)] = None):
        super().__init__(env_class, agent_class, network_fn, n_envs,
                         output_dir, seed)
        self._worker_options = {'scheduling_strategy': 'SPREAD'}
        if worker_cpus is not None:
            self._worker_options['num_cpus'] = worker_cpus
        import ray  # pylint: disable=import-outside-toplevel
        self._ray = ray
        self._workers = []
        self._closed = True
        RayOwnership.acquire()
        self._closed = False
        try:
            if n_workers is None:
                n_workers = max(1, int(ray.cluster_resources().get('CPU', 1)))
            self._env_ranges = _split_evenly(n_envs, min(n_workers, n_envs))
            if worker_cpus:
                check_cpus_fit(
                    self.n_workers * worker_cpus,
                    f'{self.n_workers} RayBatchStepper workers of '
                    f'RayBatchStepper.worker_cpus = {worker_cpus} CPUs')
            self._worker_args = worker_arguments(env_class, agent_class,
                                                 network_fn, output_dir)
            self._workers = [self._start_worker(index)
                             for index in range(len(self._env_ranges))]
            # Fail here, not in the first batch, if workers cannot start.
            wait_until_started(self._workers, 'RayBatchStepper worker')
        except BaseException:
            self.close()
            raise

    @property
    def n_workers(self) -> int:
        """Number of Ray actors."""
        return len(self._env_ranges)

    def _start_worker(self, index: int) -> Any:
        start, stop = self._env_ranges[index]
        return remote_worker().options(**self._worker_options).remote(
            n_envs=stop - start, seed=self._seed, first_env_index=start,
            n_envs_in_batch=self._n_envs,
            **self._worker_args)

    def worker_pids(self) -> List[int]:
        """Process ids of the workers (for tests and diagnostics).

        Returns:
            One pid per worker, in worker order.
        """
        return self._ray.get([worker.pid.remote() for worker in self._workers])

    def worker_nodes(self) -> List[str]:
        """Ids of the Ray nodes the workers run on (for tests and diagnostics).

        Returns:
            One node id (hex) per worker, in worker order.
        """
        return self._ray.get([worker.node_id.remote()
                              for worker in self._workers])

    def _split_batched_kwargs(
            self, batched_solve_kwargs: Optional[Dict[str, Sequence[Any]]]
    ) -> List[Optional[Dict[str, Sequence[Any]]]]:
        """Each worker's slice of batched_solve_kwargs."""
        if not batched_solve_kwargs:
            return [None] * self.n_workers
        per_worker = [{} for _ in range(self.n_workers)]
        for name, values in batched_solve_kwargs.items():
            if len(values) != self._n_envs:
                raise ValueError(
                    f'batched_solve_kwargs[{name!r}] has {len(values)} '
                    f'values for {self._n_envs} envs.')
            for kwargs, (start, stop) in zip(per_worker, self._env_ranges):
                kwargs[name] = values[start:stop]
        return per_worker

    def run_episode_batch(
            self, params: Any,
            batched_solve_kwargs: Optional[Dict[str, Sequence[Any]]] = None,
            **common_solve_kwargs) -> List[data.Episode]:
        """Plays one episode per env with the network set to params.

        Args:
            params: Network parameters for this batch; put in the object store
                once and shared by all workers.
            batched_solve_kwargs: ``{name: [value per env]}`` passed to each
                agent's solve().
            **common_solve_kwargs: Passed to every agent's solve().

        Returns:
            n_envs Episodes, in env order. What the workers logged has been
            replayed into this process's loggers (worker by worker).

        Raises:
            RuntimeError: If a worker dies twice in one call, or the stepper
                is closed.
            Exception: What an agent or env raised in a worker (as a
                ray.exceptions.RayTaskError that is also of the original type).
        """
        kwargs_per_worker = self._split_batched_kwargs(batched_solve_kwargs)
        results = self._call_workers(
            'run_episode_batch', params,
            [(kwargs, common_solve_kwargs) for kwargs in kwargs_per_worker])
        return _writable([episode for episodes in results
                          for episode in episodes])

    def run_steps(self, params: Any, n_steps: int,
                  epoch: Optional[int] = None,
                  time_limit: Optional[int] = None,
                  env_steps: Optional[int] = None) -> data.StepBatch:
        """BatchStepper.run_steps, each worker stepping its share of the envs.

        A worker that dies is replaced, and its unfinished episodes are lost
        (their transitions so far were returned by earlier calls).
        """
        args = (n_steps, epoch, time_limit, env_steps)
        results = self._call_workers('run_steps', params,
                                     [args] * self.n_workers)
        return data.StepBatch(
            transition_batches=_writable(
                [batch for result in results
                 for batch in result.transition_batches]),
            episodes=_writable([episode for result in results
                                for episode in result.episodes]),
            n_steps=sum(result.n_steps for result in results))

    def _call_workers(self, method: str, params: Any,
                      args_per_worker: List[tuple]) -> List[Any]:
        """Calls ``method(params_ref, *args)`` on every worker, in parallel.

        A worker that died is replaced and called again, once. What the
        workers logged is replayed into this process's loggers.

        Returns:
            The workers' results, in worker order.
        """
        if self._closed:
            raise RuntimeError(f'{method}() on a closed RayBatchStepper.')
        ray = self._ray
        params_ref = ray.put(params)

        def submit(index):
            return getattr(self._workers[index], method).remote(
                params_ref, *args_per_worker[index])

        pending = [submit(index) for index in range(self.n_workers)]
        results = [None] * self.n_workers
        dead = []
        for index, result_ref in enumerate(pending):
            try:
                results[index] = ray.get(result_ref)
            except ray.exceptions.RayActorError as error:
                _logger.warning('RayBatchStepper worker %d died (%s); '
                                'replacing it.', index,
                                type(error).__name__)
                dead.append(index)
        for index in dead:
            self._replace_worker(index)
        retried = {index: submit(index) for index in dead}
        for index, result_ref in retried.items():
            try:
                results[index] = ray.get(result_ref)
            except ray.exceptions.RayActorError as error:
                start, stop = self._env_ranges[index]
                # Ray's message is a page long; its first line says enough.
                reason = (str(error).strip().splitlines() or [''])[0]
                raise RuntimeError(
                    f'RayBatchStepper worker {index} (envs {start} to '
                    f'{stop - 1}) died, and so did its replacement '
                    f'({type(error).__name__}: {reason}). Something kills '
                    f'it or it crashes: look for the OOM killer (dmesg) or '
                    f'a crash in the env or agent') from error
        for _, records in results:
            metric_logging.replay(records)
        return [result for result, _ in results]

    def _replace_worker(self, index: int) -> None:
        kill_actor(self._workers[index])
        self._workers[index] = self._start_worker(index)

    def close(self) -> None:
        """Closes the workers' envs and agents, then kills the actors.

        Shuts Ray down if a RayBatchStepper started it and this was the last
        open one (see the module docstring). Closing twice is harmless.
        """
        if self._closed:
            return
        self._closed = True
        workers, self._workers = self._workers, []
        try:
            close_actors(workers)
        finally:
            RayOwnership.release()
