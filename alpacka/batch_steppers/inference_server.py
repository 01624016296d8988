"""One inference actor for many collectors: batched predictions over Ray.

By default every collector of the asynchronous pipeline evaluates its own
copy of the network (numpy for small MLPs). With shared inference, one Ray
actor holds the network and answers the prediction
requests of all collectors: requests that arrive while a ``predict`` runs
wait, and are answered together by the next single call (one per group of
requests with the same structure, shapes and dtypes, grouped and split as
``alpacka.agents.requests.RequestHandler`` groups an in-process batch). A
big network or a GPU then sees large batches instead of many small ones.

The driver holds an InferenceServer (``InferenceServer.start``), which
starts the actor (an InferenceActor) and sets its params. The collectors'
side is ServedNetwork: a stand-in Network whose ``predict``
sends the inputs to the server and blocks on the answer. A collector's
LocalBatchStepper gets ``served_network_fn(server)`` as its network_fn, so
its agents and request handler are unchanged. The server's parameters are
set by whoever broadcasts them (``server.set_params(params_ref)``),
not by the collectors: ServedNetwork ignores the params their request
handlers push.

The server is an asyncio actor: the event loop takes requests in while one
worker thread runs the network, so the network is only ever used from that
thread, and ``set_params`` runs on it between two predict calls.

Ray is imported only when a server is started.
"""

import asyncio
import concurrent.futures
import functools
import os
import time
from typing import (Annotated, Any, Callable, Dict, List, Optional, Sequence,
                    Tuple)

import numpy as np

from alpacka import data
from alpacka.agents import requests
from alpacka.batch_steppers import ray as ray_stepper
from alpacka.networks import core as networks_core
from alpacka.utils import seeding
from alpacka.utils import validation


class InferenceActor:
    """The body of the inference actor: one network, batched predictions.

    Started by InferenceServer.start; its methods are called through the
    actor handle (``server.handle.predict.remote(inputs)``).

    Args:
        factories: driver_context's pickled ``network_fn`` (a zero-argument
            network factory), unpickled after the driver's sys.path and Gin
            config are in place.
        gin_config, gin_modules, sys_path: The rest of the driver's context
            (see alpacka.batch_steppers.ray.driver_context).
        seed: Global seed of the server's process, set before the network is
            built (None: unseeded), e.g. for a network that derives its
            sampling seed from it.
    """

    def __init__(self, factories: bytes, gin_config: str,
                 gin_modules: Sequence[str], sys_path: Sequence[str],
                 seed: Optional[int] = None):
        network_fn = ray_stepper.adopt_driver_context(
            factories, gin_config, gin_modules, sys_path)
        if seed is not None:
            seeding.set_global_seed(seed)
        network = network_fn()  # Now, so a bad factory fails the start.
        self._handler = requests.RequestHandler(lambda: network)
        # The network's only thread: predict calls and params updates.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix='inference')
        self._pending: List[Tuple[Any, asyncio.Future]] = []
        self._serving: Optional[asyncio.Task] = None
        self._stats = {'n_requests': 0, 'n_rounds': 0, 'n_rows': 0,
                       'n_params_updates': 0, 'predict_s': 0.0}

    async def pid(self) -> int:
        """The server's process id (also tells that the network is built)."""
        del self
        return os.getpid()

    async def predict(self, inputs: Any) -> Any:
        """The network's prediction for exactly these rows.

        Args:
            inputs: Nested arrays with a leading batch dimension [B, ...].

        Returns:
            The network's outputs for the B rows, nested arrays [B, ...].

        Raises:
            Exception: What the network raised for these inputs.
        """
        future = asyncio.get_running_loop().create_future()
        self._pending.append((inputs, future))
        self._stats['n_requests'] += 1
        if self._serving is None or self._serving.done():
            self._serving = asyncio.create_task(self._serve())
        return await future

    async def _serve(self) -> None:
        """Answers the pending requests, round after round, until none wait."""
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            start = time.perf_counter()
            outcomes = await loop.run_in_executor(
                self._executor, self._answer, [inputs for inputs, _ in batch])
            self._stats['predict_s'] += time.perf_counter() - start
            self._stats['n_rounds'] += 1
            for (_, future), (response, error) in zip(batch, outcomes):
                if future.done():  # Cancelled by its caller.
                    continue
                if error is None:
                    future.set_result(response)
                else:
                    future.set_exception(error)

    def _answer(self, batch: List[Any]) -> List[Tuple[Any, Any]]:
        """``[(response, None) or (None, error)]`` per request (network thread).

        The requests are answered together; if that fails, each one alone,
        so that one bad request does not fail the others of its round.
        """
        try:
            responses = self._handler.handle(dict(enumerate(batch)))
        except Exception as error:  # pylint: disable=broad-except
            if len(batch) == 1:
                return [(None, error)]
            return [self._answer([inputs])[0] for inputs in batch]
        self._stats['n_rows'] += sum(len(data.choose_leaf(inputs))
                                     for inputs in batch)
        return [(responses[index], None) for index in range(len(batch))]

    async def set_params(self, params: Any) -> None:
        """Parameters for the requests answered from now on.

        Args:
            params: The network's parameters. An ObjectRef passed as the
                argument (``set_params.remote(ray.put(params))``) arrives
                resolved: one object-store put serves every server and
                collector.
        """
        await asyncio.get_running_loop().run_in_executor(
            self._executor, self._handler.set_params, params)
        self._stats['n_params_updates'] += 1

    async def stats(self) -> Dict[str, Any]:
        """Counters, for tests and benchmarks.

        Returns:
            ``n_requests`` (predict calls received), ``n_predict_calls``
            (calls of the network's predict), ``n_rounds`` (gathered rounds
            of requests; a round makes one predict call per group of
            compatible requests), ``n_rows`` (rows predicted),
            ``n_params_updates`` and ``predict_s`` (seconds spent answering).
        """
        return {**self._stats,
                'n_predict_calls': self._handler.n_predict_calls}


class InferenceServer:
    """The driver's side of the shared inference actor (an InferenceActor).

    Made by ``InferenceServer.start``; collectors reach the actor through
    ``served_network_fn(server.handle)``.

    Args:
        handle: The InferenceActor's actor handle.
    """

    def __init__(self, handle: Any):
        import ray  # pylint: disable=import-outside-toplevel
        self._ray = ray
        self.handle = handle

    @classmethod
    def start(cls, network_fn: Callable[[], networks_core.Network],
              params: Any = None,
              seed: Optional[int] = None,
              num_cpus: Annotated[float, validation.AtLeast(0)] = 1,
              num_gpus: Annotated[float, validation.AtLeast(0)] = 0,
              max_restarts: Annotated[int, validation.AtLeast(0)] = 3
              ) -> 'InferenceServer':
        """Starts the actor and waits until its network is built.

        Ray must be initialized (e.g. by alpacka.batch_steppers.ray.init_ray).
        The actor gets the driver's Gin config and sys.path, as
        RayBatchStepper's workers do; bindings made afterwards do not reach
        it.

        Args:
            network_fn: Zero-argument callable making the network (picklable
                with cloudpickle).
            params: Initial parameters, set before this returns (None: the
                network's own).
            seed: Global seed of the actor's process (None: unseeded).
            num_cpus: CPUs Ray reserves for the actor.
            num_gpus: GPUs Ray reserves for the actor (TensorFlow there sees
                only those).
            max_restarts: How often Ray restarts the actor when its process
                dies. Requests in flight then are retried on the restarted
                actor, which answers with the network's own initial params
                (not params) until the next set_params.

        Returns:
            The InferenceServer.

        Raises:
            ArgumentError: A resource or max_restarts is negative.
            RuntimeError: The actor failed to start (its error follows).
        """
        import ray  # pylint: disable=import-outside-toplevel
        for name, value in (('num_cpus', num_cpus), ('num_gpus', num_gpus),
                            ('max_restarts', max_restarts)):
            if not value >= 0:
                raise validation.ArgumentError(
                    f'InferenceServer.start: {name} = {value!r} is not '
                    f'allowed: it must be a number >= 0.')
        handle = ray_stepper.remote_class(InferenceActor).options(
            num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=max_restarts,
            # Retried only when the actor died; a request's own error is not.
            max_task_retries=-1 if max_restarts else 0).remote(
                seed=seed, **ray_stepper.driver_context(network_fn))
        server = cls(handle)
        try:
            server.pid()
        except ray.exceptions.RayActorError as error:
            raise RuntimeError(
                f'The inference server failed to start:\n{error}') from error
        if params is not None:
            # Not a constructor argument: a restart would need it kept in
            # the object store for the actor's lifetime.
            server.set_params(params, wait=True)
        return server

    def set_params(self, params: Any, wait: bool = False) -> Any:
        """Parameters for the requests answered from then on.

        Args:
            params: The parameters, or an ObjectRef of them (arrives
                resolved: one object-store put serves the server and every
                collector).
            wait: Return only once the actor uses them; otherwise return at
                once (the learner does not wait on a broadcast).

        Returns:
            The ObjectRef of the actor's call (None if wait).
        """
        ref = self.handle.set_params.remote(params)
        if not wait:
            return ref
        self._ray.get(ref)
        return None

    def stats(self) -> Dict[str, Any]:
        """The actor's counters (see InferenceActor.stats)."""
        return self._ray.get(self.handle.stats.remote())

    def pid(self) -> int:
        """The actor's process id."""
        return self._ray.get(self.handle.pid.remote())

    def close(self) -> None:
        """Kills the actor (no restart). Closing twice is harmless."""
        try:
            self._ray.kill(self.handle, no_restart=True)
        except Exception:  # pylint: disable=broad-except
            pass  # Already gone.


class ServedNetwork(networks_core.Network):
    """A stand-in network whose predictions come from an InferenceActor.

    For a collector's request handler: ``predict`` blocks on the server's
    answer; setting ``params`` does nothing (the server's parameters are
    broadcast to it, not pushed by each collector); ``clone()`` returns this
    network, which only forwards requests.

    Args:
        server: The InferenceActor's handle (``InferenceServer.handle``).
        network_signature: Reported as the signature (the server's network
            has its own).
    """

    def __init__(self, server: Any, network_signature: Any = None):
        super().__init__(network_signature)
        import ray  # pylint: disable=import-outside-toplevel
        self._ray = ray
        self._server = server

    def predict(self, inputs: Any) -> Any:
        """The server's prediction for inputs (nested arrays [B, ...]).

        Returns:
            Nested arrays [B, ...], writable (Ray returns read-only views).
        """
        prediction = self._ray.get(self._server.predict.remote(inputs))
        return data.nested_map(np.array, prediction)

    @property
    def params(self) -> Any:
        raise TypeError(
            'ServedNetwork holds no parameters: they live in its '
            'InferenceServer, which the learner updates; read them from the '
            'learner\'s network.')

    @params.setter
    def params(self, new_params: Any) -> None:
        del new_params  # The server is updated by the broadcast.

    def clone(self) -> 'ServedNetwork':
        return self


def served_network_fn(server: Any) -> Callable[[], ServedNetwork]:
    """A picklable zero-argument network_fn making ServedNetworks of server.

    Args:
        server: The InferenceActor's handle (``InferenceServer.handle``).

    Returns:
        A callable for a LocalBatchStepper's (or collector's) network_fn.
    """
    return functools.partial(ServedNetwork, server)
