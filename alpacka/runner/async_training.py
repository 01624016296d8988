"""AsyncTraining: the Gin switch and settings of asynchronous training.

``Runner.async_training = @AsyncTraining()`` turns a step-based run
(``Runner.env_steps_per_epoch`` set) into an actor-learner one: collectors
(Ray actors) step envs continuously and stream chunks of transitions into
the trainer's replay, while the learner (the Runner's own network and
trainer, in the driver process) trains from it at a rate-limited
update-to-data ratio, broadcasting fresh parameters every few updates. See
alpacka.runner.async_pipeline for how, and rate_limiter for the contract.
"""

from typing import Annotated, Any, Literal, Optional

from alpacka import errors
from alpacka.runner import rate_limiter
from alpacka.trainers import base as trainer_base
from alpacka.trainers import replay_trainer
from alpacka.utils import validation


@validation.configurable(module='alpacka.runner')
class AsyncTraining:
    """Settings of asynchronous actor-learner training.

    Each collector steps ``Runner.n_envs`` envs with its own agents and
    network copy; a chunk is ``steps_per_chunk`` steps of each of them
    (``n_envs * steps_per_chunk`` transitions), and ``env_steps_per_epoch``
    must be a multiple of that, so every epoch holds exactly its steps.

    Args:
        n_collectors: Collector actors.
        steps_per_chunk: Steps per env in one chunk (the unit collectors
            send, and the most a killed collector loses).
        updates_per_step: Learner updates per env step (None: the trainer's
            ``updates_per_step``).
        rate_tolerance: How many updates the learner, or the data, may run
            ahead of that ratio (None: the updates one chunk of every
            collector earns, so all collectors can have a chunk in flight).
        min_replay_size: Env steps in the replay before the first update
            (None: the trainer's ``min_replay_size``, else its batch size).
        broadcast_every: Learner updates between parameter broadcasts (one
            object-store put for all collectors).
        prefetch_batches: Training batches sampled ahead in a background
            thread.
        collector_cpus: CPUs Ray reserves per collector.
        learner_cpus: Threads TensorFlow may use in the learner (None:
            TensorFlow's default, all cores).
        inference: 'local': each collector runs its network copy (numpy for
            small MLPs); 'shared': one inference actor answers all
            collectors' requests in batches.
        inference_cpus: CPUs Ray reserves for the shared inference actor.
        inference_gpus: GPUs for the shared inference actor.
    """

    def __init__(
            self,
            n_collectors: Annotated[int, validation.AtLeast(1)] = 1,
            steps_per_chunk: Annotated[int, validation.AtLeast(1)] = 50,
            updates_per_step: Annotated[
                Optional[float], validation.GreaterThan(0)] = None,
            rate_tolerance: Annotated[
                Optional[float], validation.GreaterThan(0)] = None,
            min_replay_size: Annotated[
                Optional[int], validation.AtLeast(0)] = None,
            broadcast_every: Annotated[int, validation.AtLeast(1)] = 20,
            prefetch_batches: Annotated[int, validation.AtLeast(1)] = 2,
            collector_cpus: Annotated[float, validation.GreaterThan(0)] = 1.0,
            learner_cpus: Annotated[
                Optional[int], validation.AtLeast(1)] = None,
            inference: Literal['local', 'shared'] = 'local',
            inference_cpus: Annotated[float, validation.AtLeast(0)] = 1.0,
            inference_gpus: Annotated[float, validation.AtLeast(0)] = 0.0):
        self.n_collectors = n_collectors
        self.steps_per_chunk = steps_per_chunk
        self.updates_per_step = updates_per_step
        self.rate_tolerance = rate_tolerance
        self.min_replay_size = min_replay_size
        self.broadcast_every = broadcast_every
        self.prefetch_batches = prefetch_batches
        self.collector_cpus = collector_cpus
        self.learner_cpus = learner_cpus
        self.inference = inference
        self.inference_cpus = inference_cpus
        self.inference_gpus = inference_gpus

    def configure_learner_threads(self) -> None:
        """Limits TensorFlow's threads to learner_cpus (call before the
        learner's network is built)."""
        if self.learner_cpus is None:
            return
        from alpacka.utils import tensorflow_import  # pylint: disable=import-outside-toplevel
        tf, _ = tensorflow_import.import_tensorflow()
        try:
            tf.config.threading.set_intra_op_parallelism_threads(
                self.learner_cpus)
            tf.config.threading.set_inter_op_parallelism_threads(
                self.learner_cpus)
        except RuntimeError:
            pass  # TensorFlow already started (e.g. an earlier run here).


class RateSettings:
    """The resolved rate contract of a run (settings, then the trainer's).

    Args:
        settings: The AsyncTraining settings.
        trainer: The run's trainer.
        n_envs: Envs per collector.
        env_steps_per_epoch: Env steps per epoch.
        n_precollect_epochs: Runner.n_precollect_epochs (must be 0).

    Raises:
        ConfigError: the trainer cannot learn asynchronously, the chunks do
            not divide the epoch, or the rate cannot be met.
    """

    def __init__(self, settings: AsyncTraining, trainer: Any, n_envs: int,
                 env_steps_per_epoch: Optional[int], n_precollect_epochs: int):
        check_trainer(trainer)
        if env_steps_per_epoch is None:
            raise errors.ConfigError(
                'Runner.async_training needs step-based epochs: set '
                'Runner.env_steps_per_epoch (env steps per epoch, the unit '
                'of logging and checkpoints).')
        if n_precollect_epochs:
            raise errors.ConfigError(
                f'Runner.n_precollect_epochs = {n_precollect_epochs} does not '
                f'apply to asynchronous training; the learner starts once '
                f'the replay holds AsyncTraining.min_replay_size steps. Set '
                f'Runner.n_precollect_epochs = 0 and use that instead.')
        self.chunk_steps = n_envs * settings.steps_per_chunk
        if env_steps_per_epoch % self.chunk_steps:
            raise errors.ConfigError(
                f'Runner.env_steps_per_epoch = {env_steps_per_epoch} must be a '
                f'multiple of one collector chunk, Runner.n_envs x '
                f'AsyncTraining.steps_per_chunk = {n_envs} x '
                f'{settings.steps_per_chunk} = {self.chunk_steps} env steps, '
                f'so that every epoch holds exactly its steps.')
        self.updates_per_step = _from_settings_or_trainer(
            settings.updates_per_step, trainer, 'updates_per_step')
        min_size = _from_settings_or_trainer(
            settings.min_replay_size, trainer, 'min_replay_size',
            default=trainer.batch_size)
        self.min_replay_size = int(min_size)
        self.tolerance = (settings.rate_tolerance
                          if settings.rate_tolerance is not None else
                          max(self.updates_per_step * self.chunk_steps *
                              settings.n_collectors,
                              (self.updates_per_step * self.chunk_steps + 1)
                              / 2))
        rate_limiter.check_feasible(self.updates_per_step, self.tolerance,
                                    self.chunk_steps)


def _from_settings_or_trainer(value: Optional[float], trainer: Any,
                              name: str, default: Optional[float] = None
                              ) -> float:
    """The AsyncTraining setting, else the trainer's attribute of that name."""
    if value is not None:
        return value
    value = getattr(trainer, name, default)
    if value is None:
        raise errors.ConfigError(
            f'{type(trainer).__name__} has no {name}: set '
            f'AsyncTraining.{name} for asynchronous training.')
    return value


def check_trainer(trainer: Any) -> None:
    """Refuses a trainer that cannot learn from a streamed replay.

    Raises:
        ConfigError: the trainer has no add_transitions, or keeps no replay
            (is not a ReplayTrainer).
    """
    refusal = trainer_base.transitions_refusal(trainer)
    if refusal is not None:
        raise errors.ConfigError(
            refusal.replace('step-based collection (Runner.env_steps_per_epoch)',
                            'asynchronous training (Runner.async_training)'))
    if not isinstance(trainer, replay_trainer.ReplayTrainer):
        raise errors.ConfigError(
            f'{type(trainer).__name__} keeps no replay buffer, and '
            f'asynchronous training (Runner.async_training) streams '
            f'collected steps into one; use a replay-owning trainer such as '
            f'SoftActorCriticTrainer, or leave Runner.async_training unset.')
