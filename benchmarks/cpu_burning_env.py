"""A Pendulum whose every step burns a fixed amount of CPU (benchmarks only).

Stands in for an expensive simulator: each ``step`` first runs
``burn_iterations`` iterations of a pure-Python arithmetic loop (a fixed
amount of work, not a fixed time, so a loaded core makes it slower, as it
would a simulator), then steps alpacka's Pendulum. Gin-configurable as
``BurningPendulum``; load it with ``--config='import cpu_burning_env'`` and
the benchmarks directory on PYTHONPATH (Ray workers import it too).
"""

import time

import gin

from alpacka import envs


def burn(iterations: int) -> float:
    """Runs the arithmetic loop; returns its result (so it is not elided)."""
    total = 0.0
    for index in range(iterations):
        total += (index % 7) * 0.5
    return total


def iterations_for(seconds: float, probe: int = 200_000) -> int:
    """How many burn iterations take about ``seconds`` on this core now."""
    start = time.perf_counter()
    burn(probe)
    per_iteration = (time.perf_counter() - start) / probe
    return max(1, int(round(seconds / per_iteration)))


@gin.configurable(module='benchmarks')
class BurningPendulum(envs.Pendulum):
    """alpacka.envs.Pendulum, burning burn_iterations of CPU per step.

    Args:
        burn_iterations: Iterations of burn() per step.
        **kwargs: Passed to Pendulum.
    """

    def __init__(self, burn_iterations: int = 0, **kwargs):
        super().__init__(**kwargs)
        self._burn_iterations = burn_iterations

    def step(self, u):
        burn(self._burn_iterations)
        return super().step(u)
