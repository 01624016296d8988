"""Schedules: functions of the epoch number, used to anneal agent attributes."""

from typing import Annotated

from alpacka.utils import validation


@validation.configurable(module='alpacka.utils.schedules')
class LinearAnnealing:
    """Moves linearly from ``max_value`` to ``min_value`` over ``n_epochs``.

    Args:
        max_value: Value at epoch 0.
        min_value: Value from epoch ``n_epochs`` on.
        n_epochs: Length of the annealing.
    """

    def __init__(self, max_value: float, min_value: float,
                 n_epochs: Annotated[int, validation.AtLeast(1)]):
        self._max_value = max_value
        self._min_value = min_value
        self._n_epochs = n_epochs

    def __call__(self, epoch: int) -> float:
        fraction = min(epoch / self._n_epochs, 1.0)
        return self._max_value + fraction * (self._min_value - self._max_value)


@validation.configurable(module='alpacka.utils.schedules')
class RsqrtDecay:
    """Decays as ``max_value / sqrt(1 + epoch / scale)``, floored at ``min_value``.

    Args:
        max_value: Value at epoch 0.
        min_value: Lower bound.
        scale: Epochs over which the value falls by a factor of sqrt(2).
    """

    def __init__(self, max_value: float, min_value: float = 0.0,
                 scale: Annotated[float, validation.GreaterThan(0)] = 1.0):
        self._max_value = max_value
        self._min_value = min_value
        self._scale = scale

    def __call__(self, epoch: int) -> float:
        return max(self._max_value / (1 + epoch / self._scale) ** 0.5,
                   self._min_value)
