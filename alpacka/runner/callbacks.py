"""Runner callbacks: hooks around each epoch (evaluation, custom logging, ...)."""

import functools
from typing import Annotated, Any, Callable, Optional


from alpacka import batch_steppers
from alpacka import metric_logging
from alpacka.runner import epoch_metrics
from alpacka.utils import run_directory
from alpacka.utils import seeding
from alpacka.utils import validation


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


def make_evaluation_agent(agent_class: Callable) -> Any:
    """Builds an agent in evaluation mode (greedy, no exploration).

    Args:
        agent_class: The agent constructor.

    Returns:
        The agent, with ``evaluation = True``.
    """
    agent = agent_class()
    agent.evaluation = True
    return agent


@validation.configurable(module='alpacka.runner.callbacks')
class EvaluationCallback(Callback):
    """Every few epochs, plays greedy episodes and logs ``eval_episode/*``.

    The agent's own metrics of those episodes go to ``eval_agent/*``.

    The agents are built like the Runner's but with ``evaluation = True``
    (no exploration noise, greedy actions); they use the network's current
    parameters. Evaluation episodes do not reach the trainer.

    Args:
        runner: The Runner.
        every_n_epochs: Evaluate after every this many epochs.
        n_episodes: Episodes per evaluation (played side by side).
        time_limit: Step limit of an evaluation episode (None: the Runner's
            episode_time_limit).
        batch_stepper_class: Where evaluation episodes run.
    """

    def __init__(self,
                 runner: Annotated[Any, validation.Unchecked(
                     'the Runner, which passes itself')],
                 every_n_epochs: Annotated[int, validation.AtLeast(1)] = 1,
                 n_episodes: Annotated[int, validation.AtLeast(1)] = 8,
                 time_limit: Annotated[
                     Optional[int], validation.AtLeast(1)] = None,
                 batch_stepper_class: Callable = (
                     batch_steppers.LocalBatchStepper)):
        super().__init__(runner)
        self._every_n_epochs = every_n_epochs
        self._n_episodes = n_episodes
        self._time_limit = time_limit
        self._batch_stepper_class = batch_stepper_class
        self._batch_stepper = None

    def _stepper(self) -> Any:
        if self._batch_stepper is None:
            runner = self._runner
            self._batch_stepper = self._batch_stepper_class(
                env_class=runner.env_fn,
                agent_class=functools.partial(make_evaluation_agent,
                                              runner.agent_class),
                network_fn=runner.network_fn, n_envs=self._n_episodes,
                # Beside the Runner's stepper (agents' files, e.g. traces).
                output_dir=run_directory.batch_stepper_dir(runner.output_dir),
                seed=seeding.derive_seed(
                    runner.seed, seeding.FromRunSeed.EVALUATION_STEPPER))
        return self._batch_stepper

    def on_epoch_end(self, epoch: int) -> None:
        """Evaluates when ``epoch + 1`` is a multiple of every_n_epochs."""
        if (epoch + 1) % self._every_n_epochs:
            return
        time_limit = self._time_limit or self._runner.episode_time_limit
        episodes = self._stepper().run_episode_batch(
            self._runner.network.params, epoch=epoch, time_limit=time_limit)
        metric_logging.log_scalar_metrics(
            'eval_episode', epoch, epoch_metrics.episode_metrics(episodes))
        metric_logging.log_scalar_metrics(
            'eval_agent', epoch, self._runner.agent.compute_metrics(episodes))

    def close(self) -> None:
        """Closes the evaluation stepper."""
        if self._batch_stepper is not None:
            self._batch_stepper.close()
            self._batch_stepper = None
