"""LocalBatchStepper: all agents in one process, their requests batched."""

import types
from typing import Any, Callable, Dict, List, Optional, Sequence

import gin
import numpy as np

from alpacka import data
from alpacka.batch_steppers import core
from alpacka.utils import seeding


def _request_key(request: Any) -> Any:
    """Requests with equal keys can be concatenated into one batch."""
    if isinstance(request, np.ndarray):
        return (request.shape[1:], request.dtype.str)
    leaves = data.nested_leaves(request)
    structure = data.nested_map(lambda _: None, request,
                                stop_fn=lambda node: isinstance(node, np.ndarray))
    return (repr(structure),
            tuple((np.shape(leaf)[1:], np.asarray(leaf).dtype.str)
                  for leaf in leaves))


def _is_flat_dict(x: Any) -> bool:
    return isinstance(x, dict) and all(
        isinstance(leaf, np.ndarray) for leaf in x.values())


def _batch_size(request: Any) -> int:
    if isinstance(request, np.ndarray):
        return len(request)
    return len(data.choose_leaf(request))


class RequestHandler:
    """Answers agents' requests with one network, batching predictions.

    The network is built on first use, so steppers whose agents never ask
    for predictions never build (or import) one.

    Args:
        network_fn: Zero-argument callable making the network.
    """

    def __init__(self, network_fn: Callable):
        self._network_fn = network_fn
        self._network = None
        self._params = None
        self._params_set = False
        self.n_predict_calls = 0

    def set_params(self, params: Any) -> None:
        """Params for the following requests (pushed to the network lazily)."""
        if params is not self._params:
            self._params = params
            self._params_set = False

    def _ready_network(self):
        if self._network is None:
            self._network = self._network_fn()
        if not self._params_set:
            if self._params is not None:
                self._network.params = self._params
            self._params_set = True
        return self._network

    def handle(self, requests: Dict[int, Any]) -> Dict[int, Any]:
        """Answers a round of requests.

        Args:
            requests: ``{agent index: request}``.

        Returns:
            ``{agent index: response}``. Prediction requests with the same
            structure, shapes and dtypes share one network call.
        """
        responses = {}
        groups = {}
        for index, request in requests.items():
            if data.is_network_request(request):
                responses[index] = (self._network_fn, self._params)
            else:
                groups.setdefault(_request_key(request), []).append(index)
        for indices in groups.values():
            batch = [requests[index] for index in indices]
            if len(batch) == 1:
                inputs = batch[0]
            elif isinstance(batch[0], np.ndarray):
                inputs = np.concatenate(batch)
            else:
                inputs = data.nested_concatenate(batch)
            predictions = self._ready_network().predict(inputs)
            self.n_predict_calls += 1
            start = 0
            for index, request in zip(indices, batch):
                stop = start + _batch_size(request)
                if isinstance(predictions, np.ndarray):
                    responses[index] = predictions[start:stop]
                elif _is_flat_dict(predictions):  # E.g. value and policy heads.
                    responses[index] = {key: leaf[start:stop] for key, leaf
                                        in predictions.items()}
                else:
                    responses[index] = data.nested_map(
                        lambda leaf, start=start, stop=stop: leaf[start:stop],
                        predictions)
                start = stop
        return responses


def run_coroutines(coroutines: Sequence[types.GeneratorType],
                   request_handler: RequestHandler) -> List[Any]:
    """Runs coroutines in lock-step, answering each round's requests together.

    Args:
        coroutines: Started-or-not generators following the agent protocol.
        request_handler: Answers the requests.

    Returns:
        The coroutines' return values, in order.
    """
    results = [None] * len(coroutines)
    requests = {}
    for index, coroutine in enumerate(coroutines):
        try:
            requests[index] = next(coroutine)
        except StopIteration as stop:
            results[index] = stop.value
    while requests:
        responses = request_handler.handle(requests)
        requests = {}
        for index, response in responses.items():
            try:
                requests[index] = coroutines[index].send(response)
            except StopIteration as stop:
                results[index] = stop.value
    return results


@gin.configurable(module='alpacka.batch_steppers')
class LocalBatchStepper(core.BatchStepper):
    """Runs all env-agent pairs in this process.

    In each round every unfinished agent runs until its next request; all
    prediction requests of the round go to the network in one ``predict``
    call per group of compatible shapes.

    Args:
        env_class, agent_class, network_fn, n_envs, output_dir, seed: See
            BatchStepper.
        first_env_index: Index of this stepper's first env in a larger batch
            (env i is seeded as env first_env_index + i), so a stepper that
            runs a slice of the envs seeds them as a whole-batch stepper does.
    """

    def __init__(self, env_class: Callable, agent_class: Callable,
                 network_fn: Callable, n_envs: int,
                 output_dir: Optional[str] = None,
                 seed: Optional[int] = None, first_env_index: int = 0):
        super().__init__(env_class, agent_class, network_fn, n_envs,
                         output_dir, seed)
        self._envs = [env_class() for _ in range(n_envs)]
        self._agents = [agent_class() for _ in range(n_envs)]
        if seed is not None:
            for index, (env, agent) in enumerate(zip(self._envs,
                                                     self._agents),
                                                 start=first_env_index):
                env.reset(seed=seeding.derive_seed(seed, index, 0))
                env.action_space.seed(seeding.derive_seed(seed, index, 1))
                agent.seed(seeding.derive_seed(seed, index, 2))
        self._request_handler = RequestHandler(network_fn)

    @property
    def n_predict_calls(self) -> int:
        """Network calls made so far (for benchmarks and tests)."""
        return self._request_handler.n_predict_calls

    def run_episode_batch(
            self, params: Any,
            batched_solve_kwargs: Optional[Dict[str, Sequence[Any]]] = None,
            **common_solve_kwargs) -> List[data.Episode]:
        self._request_handler.set_params(params)
        kwargs_per_env = self._solve_kwargs(batched_solve_kwargs,
                                            common_solve_kwargs)
        coroutines = [agent.solve(env, **kwargs) for env, agent, kwargs
                      in zip(self._envs, self._agents, kwargs_per_env)]
        return run_coroutines(coroutines, self._request_handler)

    def close(self) -> None:
        for agent in self._agents:
            agent.close()
        for env in self._envs:
            env.close()
