"""Runner callbacks: hooks around each epoch (evaluation, custom logging, ...)."""

from typing import Any


class Callback:
    """Base class of Runner callbacks, bound as ``Runner.callback_classes``.

    Args:
        runner: The Runner that calls the hooks; callbacks may read its
            public properties (epoch, network, env_fn, agent_class, ...).
    """

    def __init__(self, runner: Any):
        self._runner = runner

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before gathering episodes of ``epoch``."""

    def on_epoch_end(self, epoch: int) -> None:
        """Called after training in ``epoch``, before the checkpoint."""

    def close(self) -> None:
        """Called once when the run ends."""
