"""One driver for agent coroutines in tests: answers requests as a stepper.

Agents' ``solve`` and ``act`` are generators that yield requests (see
alpacka.agents.base). ``drive`` plays the batch stepper's part for a single
agent: a ``data.NetworkRequest()`` is answered with ``(network_fn, params)``,
any other request with ``predict(request)``.
"""

from typing import Any, Callable, List, Optional, Tuple

from alpacka import agents
from alpacka import data
from alpacka import networks


def dummy_network_fn() -> networks.DummyNetwork:
    """The network a stepper hands out when the agent needs none."""
    return networks.DummyNetwork(network_signature=None)


def drive(coroutine: Any, predict: Optional[Callable[[Any], Any]] = None,
          network_fn: Callable = dummy_network_fn,
          params: Any = None) -> Tuple[Any, List[Any]]:
    """Runs an agent coroutine to its end, answering its requests.

    Args:
        coroutine: A generator following the agent protocol, or a plain
            return value (an ``act`` that does not yield).
        predict: Answers prediction requests (a batch of inputs -> a batch
            of predictions); None if the agent must not ask for any.
        network_fn, params: The answer to a ``data.NetworkRequest()``.

    Returns:
        ``(the coroutine's return value, every request it made, in order)``.
    """
    coroutine = agents.maybe_coroutine(coroutine)
    requests = []
    response = None
    while True:
        try:
            request = coroutine.send(response)
        except StopIteration as stop:
            return stop.value, requests
        requests.append(request)
        if data.is_network_request(request):
            response = (network_fn, params)
        elif predict is None:
            raise AssertionError(f'Unexpected prediction request {request!r}.')
        else:
            response = predict(request)


def prediction_requests(requests: List[Any]) -> List[Any]:
    """The requests that ask for predictions (not for the network)."""
    return [request for request in requests
            if not data.is_network_request(request)]
