"""Schedules: functions of the epoch number (or of another counter, such as
the run's env steps), used to anneal agent attributes."""

from typing import Annotated, List, Sequence, Union

import numpy as np

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


@validation.configurable(module='alpacka.utils.schedules')
class LinearSchedule:
    """Moves linearly from ``start`` to ``end`` over ``n_steps`` of a counter.

    A function of any counter (the run's env steps for exploration rates,
    updates for an importance exponent), unlike LinearAnnealing's epochs.
    ``start`` and ``end`` may also be equal-length lists (e.g. the weights
    of a policy mixture), interpolated elementwise.

    Args:
        start: Value (or values) at step ``begin``.
        end: Value (or values) from step ``begin + n_steps`` on.
        n_steps: Length of the interpolation.
        begin: The step the interpolation starts at (before: ``start``).
    """

    def __init__(self, start: Union[float, Sequence[float]] = 1.0,
                 end: Union[float, Sequence[float]] = 0.05,
                 n_steps: Annotated[int, validation.AtLeast(1)] = 10_000,
                 begin: Annotated[int, validation.AtLeast(0)] = 0):
        self._start = np.asarray(start, np.float64)
        self._end = np.asarray(end, np.float64)
        if self._start.shape != self._end.shape:
            raise validation.ArgumentError(
                f'LinearSchedule: start {start} and end {end} must both be '
                f'numbers or lists of the same length.')
        self._n_steps = n_steps
        self._begin = begin

    def __call__(self, step: int) -> Union[float, List[float]]:
        fraction = min(max(step - self._begin, 0) / self._n_steps, 1.0)
        value = self._start + fraction * (self._end - self._start)
        return float(value) if value.ndim == 0 else value.tolist()
