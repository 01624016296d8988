"""Agents, networks and envs for test_ray.py, importable by Ray workers.

Ray workers unpickle these by module name, so they live in a module of their
own (reached by workers through the driver's sys.path, which the stepper
propagates) rather than in the test module.
"""

import os
from typing import Any, Callable, Dict, Optional

import gin
import gymnasium
import numpy as np

from alpacka import agents
from alpacka import envs
from alpacka import networks

# ProbeAgent.solve raises for this epoch.
FAIL_EPOCH = -1
FAILURE_MESSAGE = 'ProbeAgent failed on purpose'


@gin.configurable
def probe_tag(value: int = 0) -> int:
    """A configurable referenced from the test's Gin config."""
    return value


@gin.configurable
class ProbeAgent(agents.OnlineAgent):
    """Always pushes left and reports what it saw in agent_info.

    Each step asks the network for a prediction and records it, with the
    Gin-bound tag, the solve() epoch and the worker's pid.

    Args:
        tag: Reported in agent_info['tag'].
        parameter_schedules: See Agent.
    """

    def __init__(self, tag: int = 0,
                 parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        self.tag = tag

    def solve(self, env: gymnasium.Env, epoch: Optional[int] = None,
              init_state: Any = None, time_limit: Optional[int] = None):
        if epoch == FAIL_EPOCH:
            raise ValueError(FAILURE_MESSAGE)
        return (yield from super().solve(env, epoch, init_state, time_limit))

    def act(self, observation: Any):
        prediction = yield np.asarray(observation, np.float32)[np.newaxis]
        return 0, {'tag': self.tag,
                   'epoch': -2 if self._epoch is None else self._epoch,
                   'prediction': float(prediction[0, 0]),
                   'pid': os.getpid()}


class ConstantNetwork(networks.Network):
    """Predicts its (scalar) params for every input: [B, 1]."""

    def __init__(self, network_signature: Any = None):
        super().__init__(network_signature)
        self._value = np.zeros((), np.float32)

    def predict(self, inputs: Any) -> np.ndarray:
        return np.full((len(inputs), 1), self._value, np.float32)

    @property
    def params(self) -> np.ndarray:
        return self._value

    @params.setter
    def params(self, new_params: np.ndarray) -> None:
        self._value = np.asarray(new_params, np.float32)


def cartpole_unless_marked(marker_path: str) -> envs.CartPole:
    """A CartPole, or the death of the calling process if marker_path exists.

    Lets a test make the replacement of a killed worker die as well.
    """
    if os.path.exists(marker_path):
        os._exit(1)  # pylint: disable=protected-access
    return envs.CartPole()
