"""Collectors: long-lived Ray actors stepping envs continuously.

The asynchronous pipeline's collection side. Each collector is the same
actor as a RayBatchStepper worker (a LocalBatchStepper over its envs, with
the driver's Gin config and sys.path), but collectors are called one at a
time and never waited for together: the caller submits a chunk of steps to
a collector, receives it whenever it is ready (``ray.wait``) and submits the
next one, with the newest parameters. A collector's episodes run on across
chunks, as in step-based collection.

A collector that dies is replaced by ``replace``: the new actor starts with
fresh envs and agents, seeded by the collector's index and its generation,
so a replacement does not replay its predecessor's episodes.
"""

from typing import Annotated, Any, Callable, List, Optional

from alpacka.batch_steppers import ray as ray_stepper
from alpacka.utils import seeding
from alpacka.utils import validation


class RayCollectors:
    """A fixed number of collector actors, each stepping n_envs envs.

    Starts Ray if needed (and shuts it down on close if it did, as
    RayBatchStepper does: see alpacka.batch_steppers.ray).

    Args:
        env_class: Zero-argument callable making an env.
        agent_class: Zero-argument callable making an OnlineAgent.
        network_fn: Zero-argument callable making the collectors' network
            (the learner's network, or a stand-in that asks a shared
            inference actor).
        n_envs: Envs per collector.
        n_collectors: Number of collector actors.
        output_dir: Where collectors may write (None: nowhere).
        seed: Base seed (None: unseeded); collector i of generation g is
            seeded with ``derive_seed(seed, i, g)``.
        num_cpus: CPUs Ray reserves for each collector.

    Raises:
        ConfigError: the cluster has fewer CPUs than the collectors need.
        RuntimeError: a collector failed to start.
    """

    def __init__(self, env_class: Callable, agent_class: Callable,
                 network_fn: Optional[Callable],
                 n_envs: Annotated[int, validation.AtLeast(1)],
                 n_collectors: Annotated[int, validation.AtLeast(1)],
                 output_dir: Optional[str] = None,
                 seed: Optional[int] = None, num_cpus: float = 1.0):
        import ray  # pylint: disable=import-outside-toplevel
        self._ray = ray
        self._n_envs = n_envs
        self._seed = seed
        self._num_cpus = num_cpus
        self._actors: List[Any] = []
        self._generations = [1] * n_collectors
        self._closed = True
        ray_stepper.RayOwnership.acquire()
        self._closed = False
        try:
            ray_stepper.check_cpus_fit(
                n_collectors * num_cpus,
                f'AsyncTraining.n_collectors = {n_collectors} collectors of '
                f'AsyncTraining.collector_cpus = {num_cpus} CPUs',
                ' Use fewer collectors, fewer CPUs each (fractions are '
                'allowed), or a larger cluster.')
            self._worker_args = ray_stepper.worker_arguments(
                env_class, agent_class, network_fn, output_dir)
            self._actors = [self._start(index)
                            for index in range(n_collectors)]
            ray_stepper.wait_until_started(self._actors, 'Collector')
        except BaseException:
            self.close()
            raise

    @property
    def n_collectors(self) -> int:
        """Number of collector actors."""
        return len(self._generations)

    def _start(self, index: int) -> Any:
        seed = seeding.derive_seed(self._seed, index, self._generations[index])
        return ray_stepper.remote_worker().options(
            scheduling_strategy='SPREAD', num_cpus=self._num_cpus).remote(
                n_envs=self._n_envs, seed=seed, first_env_index=0,
                n_envs_in_batch=self._n_envs, **self._worker_args)

    def submit(self, index: int, params: Any, n_rounds: int,
               epoch: Optional[int], time_limit: Optional[int],
               env_steps: Optional[int]) -> Any:
        """Asks collector index for its next chunk of steps.

        Args:
            index: The collector.
            params: Network parameters (an ObjectRef, put once for all).
            n_rounds: Steps per env in the chunk.
            epoch: The agents' epoch (parameter schedules).
            time_limit: Maximum steps per episode.
            env_steps: The run's global step count at the chunk's start, as
                the agents see it.

        Returns:
            An ObjectRef of ``(StepBatch, metric records)``.
        """
        return self._actors[index].run_steps.remote(
            params, n_rounds, epoch, time_limit, env_steps)

    def replace(self, index: int) -> None:
        """Kills collector index (if still there) and starts a fresh one."""
        ray_stepper.kill_actor(self._actors[index])
        self._generations[index] += 1
        self._actors[index] = self._start(index)

    def pids(self) -> List[int]:
        """The collectors' process ids, in collector order."""
        return self._ray.get([actor.pid.remote() for actor in self._actors])

    def close(self) -> None:
        """Closes the collectors' envs and agents, then kills the actors.

        Closing twice is harmless.
        """
        if self._closed:
            return
        self._closed = True
        actors, self._actors = self._actors, []
        try:
            ray_stepper.close_actors(actors)
        finally:
            ray_stepper.RayOwnership.release()
