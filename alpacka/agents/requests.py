"""Answering agents' requests: batched predictions, coroutines in lock-step.

The other side of the agent coroutine protocol. It lives with the agents,
below the batch steppers, because both use it: LocalBatchStepper (and
through it RayBatchStepper's workers) and agents that run nested episodes
in-process (ShootingAgent's rollouts, see in_process.py).
"""

import types
from typing import Any, Callable, Dict, List, Sequence

import numpy as np

from alpacka import data


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
            if isinstance(request, np.ndarray):  # The common case, first.
                key = (request.shape[1:], request.dtype.str)
            elif data.is_network_request(request):
                responses[index] = (self._network_fn, self._params)
                continue
            else:
                key = _request_key(request)
            groups.setdefault(key, []).append(index)
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
            if len(batch) == 1:
                responses[indices[0]] = predictions
                continue
            split = _splitter(predictions)
            start = 0
            for index, request in zip(indices, batch):
                stop = start + _batch_size(request)
                responses[index] = split(start, stop)
                start = stop
        return responses


def _splitter(predictions: Any) -> Callable[[int, int], Any]:
    """``(start, stop) -> rows start:stop of every leaf of predictions``;
    chosen once per batch, as the structure is the same for every slice."""
    if isinstance(predictions, np.ndarray):
        return lambda start, stop: predictions[start:stop]
    if _is_flat_dict(predictions):  # E.g. value and policy heads.
        items = list(predictions.items())
        return lambda start, stop: {key: leaf[start:stop]
                                    for key, leaf in items}
    return lambda start, stop: data.nested_map(
        lambda leaf: leaf[start:stop], predictions)


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
