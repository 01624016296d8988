"""The Runner: alternates gathering episodes and training, with checkpoints."""

import functools
import math
import os
import sys
import time
from typing import (Annotated, Any, Callable, Dict, List, Optional, Sequence,
                    Tuple)

from alpacka import agents
from alpacka import batch_steppers
from alpacka import data
from alpacka import envs
from alpacka import errors
from alpacka import metric_logging
from alpacka import networks
from alpacka import trainers
from alpacka.runner import async_training as async_training_lib
from alpacka.runner import checkpointing
from alpacka.runner import epoch_metrics
from alpacka.runner import failures
from alpacka.runner import startup_checks
from alpacka.utils import atomic_files
from alpacka.utils import gin_config
from alpacka.utils import run_directory
from alpacka.utils import seeding
from alpacka.utils import validation


@validation.configurable(module='alpacka.runner')
class Runner:
    """Runs an experiment: each epoch gathers episodes, then trains.

    Args:
        output_dir: Where checkpoints, config.gin and metrics.jsonl go.
        env_class: Env constructor.
        env_kwargs: Keyword arguments for env_class.
        agent_class: Agent constructor.
        network_class: Network constructor; called with network_signature.
        n_envs: Episodes gathered in parallel per epoch (envs stepped side
            by side in step-based collection).
        episode_time_limit: Maximum steps per episode (None: no limit).
        batch_stepper_class: Where episodes run (LocalBatchStepper,
            RayBatchStepper).
        trainer_class: Trainer constructor; called with the signature.
        callback_classes: Callback constructors, called with runner=self.
        n_epochs: Number of epochs (None: until interrupted).
        n_precollect_epochs: Initial epochs that gather but do not train.
        seed: Seeds Python, numpy, Keras, the envs and the agents.
        checkpoint_every: Write a checkpoint every this many epochs (and at
            the end); 0 disables checkpoints.
        env_steps_per_epoch: None: each epoch plays one whole episode per env,
            then trains. A number (a multiple of n_envs): step-based
            collection for off-policy trainers; each epoch takes this many
            environment steps (all envs together, episodes running on across
            epochs) and trains after every env_steps_per_train of them, with
            the trainer's update-to-data ratio. episode/* metrics cover the
            episodes that ended in the epoch. Needs OnlineAgents and a
            trainer with add_transitions.
        env_steps_per_train: In step-based collection, environment steps
            between two training calls (a multiple of n_envs; None: n_envs,
            i.e. one step per env). Larger values cost fewer round trips to
            Ray workers. Unused by asynchronous training.
        async_training: None: collection and training alternate. An
            AsyncTraining: asynchronous actor-learner training (needs
            env_steps_per_epoch): collectors (Ray actors, each stepping
            n_envs envs) stream transitions into the trainer's replay while
            the learner trains at the rate-limited update-to-data ratio;
            batch_stepper_class is then unused, and async/* metrics are
            logged each epoch. See alpacka.runner.async_pipeline.
    """

    def __init__(self, output_dir: str,
                 env_class: Callable = envs.CartPole,
                 env_kwargs: Optional[Dict[str, Any]] = None,
                 agent_class: Callable = agents.RandomAgent,
                 network_class: Callable = networks.DummyNetwork,
                 n_envs: Annotated[int, validation.AtLeast(1)] = 16,
                 episode_time_limit: Annotated[
                     Optional[int], validation.AtLeast(1)] = None,
                 batch_stepper_class: Callable = batch_steppers.LocalBatchStepper,
                 trainer_class: Callable = trainers.DummyTrainer,
                 callback_classes: Sequence[Callable] = (),
                 n_epochs: Annotated[Optional[int], validation.AtLeast(0)] = None,
                 n_precollect_epochs: Annotated[int, validation.AtLeast(0)] = 0,
                 seed: Annotated[Optional[int], validation.AtLeast(0)] = None,
                 checkpoint_every: Annotated[int, validation.AtLeast(0)] = 1,
                 env_steps_per_epoch: Annotated[
                     Optional[int], validation.AtLeast(1)] = None,
                 env_steps_per_train: Annotated[
                     Optional[int], validation.AtLeast(1)] = None,
                 async_training: Optional[
                     async_training_lib.AsyncTraining] = None):
        # Bindings of configurables built later (in workers, in epochs) too.
        validation.check_bindings()
        self._output_dir = output_dir
        self._n_envs = n_envs
        self._env_steps_per_epoch = env_steps_per_epoch
        self._env_steps_per_train = env_steps_per_train or n_envs
        startup_checks.check_step_schedule(
            n_envs, env_steps_per_epoch,
            # Asynchronous training trains all the time: unused there.
            self._env_steps_per_train if async_training is None else n_envs)
        os.makedirs(output_dir, exist_ok=True)
        self._n_epochs = n_epochs
        self._n_precollect_epochs = n_precollect_epochs
        self._episode_time_limit = episode_time_limit
        self._seed = seed
        self._checkpoint_every = checkpoint_every
        self._async_training = async_training
        self._pipeline = None
        seeding.set_global_seed(seed)
        if async_training is not None:
            async_training.configure_learner_threads()

        self._env_fn = functools.partial(env_class, **(env_kwargs or {}))
        self._agent_class = agent_class
        self._agent = agent_class()
        self._network_signature = self._probe_signature()

        self._network_fn = functools.partial(
            network_class, network_signature=self._network_signature)
        self._network = self._build_network(network_class)
        self._trainer = trainer_class(self._network_signature)
        if env_steps_per_epoch is not None:
            startup_checks.check_step_collection(self._agent, self._trainer)
        rates = self._async_rates()

        self._epoch = 0
        self._counters = {'env_steps': 0, 'episodes': 0}
        self._last_saved_epoch = None
        self._phase = 'idle'
        # What runs now, named in the message if it fails (see _stage_name).
        self._stage = 'gather'
        self._failure = None
        self._operative_config_written = False
        self._checkpointer = checkpointing.Checkpointer(output_dir)
        async_state = self._restore()

        self._metrics_logger = None
        self._batch_stepper = None
        self._callbacks = []
        try:
            if rates is None:
                self._batch_stepper = self._start_batch_stepper(
                    batch_stepper_class)
            else:
                self._pipeline = self._start_pipeline(rates, async_state)
            self._callbacks = [callback_class(runner=self)
                               for callback_class in callback_classes]
        except BaseException:
            self.close()
            raise
        # Last: a Runner that fails to build leaves the directory as it was.
        self._open_run_files()

    def _probe_signature(self) -> Optional[data.NetworkSignature]:
        """The agent's network signature for a probe env's spaces, checked
        against its observations."""
        probe_env = self._env_fn()
        signature = self._agent.network_signature(
            probe_env.observation_space, probe_env.action_space)
        startup_checks.check_signature_fits_env(
            signature, probe_env.observation_space,
            startup_checks.describe(type(self._agent)))
        probe_env.close()
        return signature

    def _build_network(self, network_class: Callable) -> Any:
        """The learner's network, checked against the agent's signature.

        Raises:
            NetworkSignatureError: it cannot be built for the signature, or
                its outputs do not fit it.
        """
        try:
            network = self._network_fn()
        except (ValueError, TypeError) as error:
            if isinstance(error, errors.UserError):
                raise  # Already says what to fix (e.g. a refused argument).
            raise errors.NetworkSignatureError(
                f'Building {startup_checks.describe(network_class)} for the '
                f'agent\'s network signature {self._network_signature} '
                f'failed: {error}') from error
        startup_checks.check_network_output(network, self._network_signature)
        return network

    def _open_run_files(self) -> None:
        # Left by a run killed while writing metrics or config.gin.
        atomic_files.remove_stale_temp_files(self._output_dir)
        # A fresh run drops the metrics of an earlier run that never
        # checkpointed; a resumed one those of the epochs it redoes.
        metrics_path = run_directory.metrics_path(self._output_dir)
        metric_logging.truncate_metrics(metrics_path, before_step=self._epoch)
        self._metrics_logger = metric_logging.JsonlLogger(metrics_path)
        metric_logging.register_logger(self._metrics_logger)

    def _async_rates(self) -> Optional[async_training_lib.RateSettings]:
        """The rate contract of asynchronous training (None without it).

        Raises:
            ConfigError: the trainer, epochs or rates do not fit it.
        """
        if self._async_training is None:
            return None
        return async_training_lib.RateSettings(
            self._async_training, self._trainer, self._n_envs,
            self._env_steps_per_epoch, self._n_precollect_epochs)

    def _start_batch_stepper(self, batch_stepper_class: Callable) -> Any:
        return batch_stepper_class(
            env_class=self._env_fn, agent_class=self._agent_class,
            network_fn=self._network_fn, n_envs=self._n_envs,
            output_dir=run_directory.batch_stepper_dir(self._output_dir),
            # Seeded by the first epoch it plays: a resumed run continues
            # with fresh episodes instead of replaying epoch 0's.
            seed=seeding.derive_seed(
                self._seed, seeding.FromRunSeed.BATCH_STEPPER, self._epoch))

    def _start_pipeline(self, rates: async_training_lib.RateSettings,
                        state: Optional[Dict[str, Any]]) -> Any:
        from alpacka.runner import async_pipeline  # pylint: disable=import-outside-toplevel

        def set_stage(stage: str) -> None:
            self._stage = stage
        return async_pipeline.AsyncPipeline(
            self._async_training, rates, env_fn=self._env_fn,
            agent_class=self._agent_class, network_fn=self._network_fn,
            n_envs=self._n_envs, network=self._network,
            trainer=self._trainer,
            output_dir=run_directory.batch_stepper_dir(self._output_dir),
            # As the batch stepper's: fresh episodes after a resume.
            seed=seeding.derive_seed(
                self._seed, seeding.FromRunSeed.ASYNC_COLLECTORS,
                self._epoch + 1),
            env_steps=self._counters['env_steps'],
            time_limit=self._episode_time_limit, set_stage=set_stage,
            state=state)

    def _restore(self) -> Optional[Dict[str, Any]]:
        """Loads the last checkpoint, if any.

        Returns:
            The asynchronous pipeline's saved state (None if there is none).
        """
        state = self._checkpointer.restore(self._network, self._trainer)
        if state is None:
            return None
        self._epoch = int(state['epoch'])
        self._last_saved_epoch = self._epoch
        self._counters.update(state.get('counters', {}))
        # config.gin is the record of the run's first start; never rewrite it.
        self._operative_config_written = True
        print(f'Resuming from the checkpoint after epoch {self._epoch} in '
              f'{self._checkpointer.directory}.', file=sys.stderr)
        return state.get('async')

    @property
    def epoch(self) -> int:
        """Number of completed epochs."""
        return self._epoch

    @property
    def network(self) -> Any:
        """The network being trained."""
        return self._network

    @property
    def network_signature(self) -> Optional[data.NetworkSignature]:
        """The agent's network signature."""
        return self._network_signature

    @property
    def env_fn(self) -> Callable:
        """Zero-argument env factory."""
        return self._env_fn

    @property
    def agent_class(self) -> Callable:
        """The agent constructor."""
        return self._agent_class

    @property
    def agent(self) -> Any:
        """An agent instance of the run's class (for signatures and metrics)."""
        return self._agent

    @property
    def network_fn(self) -> Callable:
        """Zero-argument network factory."""
        return self._network_fn

    @property
    def episode_time_limit(self) -> Optional[int]:
        """Maximum steps per episode (None: no limit)."""
        return self._episode_time_limit

    @property
    def seed(self) -> Optional[int]:
        """The run's seed (None: unseeded)."""
        return self._seed

    @property
    def output_dir(self) -> str:
        """The run's output directory."""
        return self._output_dir

    def _agent_epoch(self, epoch: int) -> int:
        """The epoch agents see: counted from the end of precollection."""
        return max(0, epoch - self._n_precollect_epochs)

    def _train_if_due(self, epoch: int, timings: Dict[str, float]
                      ) -> Dict[str, float]:
        """One timed train_epoch call, unless epoch only precollects.

        Raises:
            FloatingPointError: a train metric is not finite.
        """
        if epoch < self._n_precollect_epochs:
            return {}
        start = time.perf_counter()
        train_metrics = self._trainer.train_epoch(self._network)
        timings['train_s'] += time.perf_counter() - start
        _check_finite(train_metrics)
        return train_metrics

    def _gather(self, epoch: int) -> List[data.Episode]:
        return self._batch_stepper.run_episode_batch(
            self._network.params, epoch=self._agent_epoch(epoch),
            time_limit=self._episode_time_limit)

    def _episode_epoch(self, epoch: int, timings: Dict[str, float]
                       ) -> Tuple[List[data.Episode], Dict[str, float]]:
        """Plays one episode per env, then trains on them."""
        start = time.perf_counter()
        episodes = self._gather(epoch)
        timings['gather_s'] += time.perf_counter() - start

        self._phase = self._stage = 'train'
        for episode in episodes:
            self._trainer.add_episode(episode)
        self._counters['env_steps'] += sum(len(episode) for episode in episodes)
        return episodes, self._train_if_due(epoch, timings)

    def _step_epoch(self, epoch: int, timings: Dict[str, float]
                    ) -> Tuple[List[data.Episode], Dict[str, float]]:
        """Takes env_steps_per_epoch steps, training after every
        env_steps_per_train of them."""
        episodes, train_chunks = [], []
        remaining = self._env_steps_per_epoch
        while remaining > 0:
            n_steps = min(self._env_steps_per_train, remaining)
            start = time.perf_counter()
            self._stage = 'gather'
            step_batch = self._batch_stepper.run_steps(
                self._network.params, n_steps // self._n_envs,
                epoch=self._agent_epoch(epoch),
                time_limit=self._episode_time_limit,
                env_steps=self._counters['env_steps'])
            timings['gather_s'] += time.perf_counter() - start

            self._phase = self._stage = 'train'
            for transition_batch in step_batch.transition_batches:
                self._trainer.add_transitions(transition_batch)
            episodes.extend(step_batch.episodes)
            self._counters['env_steps'] += step_batch.n_steps
            remaining -= step_batch.n_steps
            train_chunks.append(self._train_if_due(epoch, timings))
        return episodes, epoch_metrics.merge_train_metrics(train_chunks)

    def _async_epoch(self, epoch: int, timings: Dict[str, float]
                     ) -> Tuple[List[data.Episode], Dict[str, float]]:
        """Trains while the collectors fill the replay with the epoch's
        env_steps_per_epoch steps; logs async/*."""
        self._phase = 'train'
        start = time.perf_counter()
        episodes, train_chunks, async_metrics = self._pipeline.run_epoch(
            self._agent_epoch(epoch),
            self._counters['env_steps'] + self._env_steps_per_epoch)
        timings['train_s'] += time.perf_counter() - start
        self._counters['env_steps'] += self._env_steps_per_epoch
        train_metrics = epoch_metrics.merge_train_metrics(train_chunks)
        _check_finite(train_metrics)
        metric_logging.log_scalar_metrics('async', epoch, async_metrics)
        return episodes, train_metrics

    def run_epoch(self) -> None:
        """Gathers episodes (or steps), trains, logs and checkpoints."""
        epoch = self._epoch
        epoch_start = time.perf_counter()
        self._stage = 'callbacks'
        for callback in self._callbacks:
            callback.on_epoch_begin(epoch)

        self._phase = self._stage = 'gather'
        timings = {'gather_s': 0.0, 'train_s': 0.0}
        if self._pipeline is not None:
            episodes, train_metrics = self._async_epoch(epoch, timings)
        elif self._env_steps_per_epoch is None:
            episodes, train_metrics = self._episode_epoch(epoch, timings)
        else:
            episodes, train_metrics = self._step_epoch(epoch, timings)
        self._counters['episodes'] += len(episodes)
        self._stage = 'metrics'
        if episodes:
            metric_logging.log_scalar_metrics(
                'episode', epoch, epoch_metrics.episode_metrics(episodes))
            metric_logging.log_scalar_metrics(
                'agent', epoch, self._agent.compute_metrics(episodes))
        if train_metrics:
            metric_logging.log_scalar_metrics('train', epoch, train_metrics)

        self._epoch = epoch + 1
        # From here on the state is that of a completed epoch: Ctrl-C saves it.
        self._phase = 'idle'
        start = time.perf_counter()
        self._stage = 'callbacks'
        for callback in self._callbacks:
            callback.on_epoch_end(epoch)
        timings['callbacks_s'] = time.perf_counter() - start
        self._stage = 'metrics'
        metric_logging.log_scalar_metrics('counters', epoch, self._counters)
        metric_logging.log_scalar_metrics('time', epoch, {
            **timings, 'epoch_s': time.perf_counter() - epoch_start})
        metric_logging.flush()
        if not self._operative_config_written:
            self._stage = 'config'
            # Only now has every configurable of the run been called.
            gin_config.write_config(
                run_directory.config_path(self._output_dir), operative=True)
            self._operative_config_written = True
        if self._checkpoint_every and (
                self._epoch % self._checkpoint_every == 0 or
                self._epoch == self._n_epochs):
            self.save_checkpoint()

    def save_checkpoint(self) -> None:
        """Checkpoints the state after the last completed epoch.

        Raises:
            CheckpointWriteError: the write failed; the previous checkpoint
                is whole.
        """
        self._stage = 'checkpoint'
        runner_state = {'counters': self._counters}
        if self._pipeline is None:
            self._checkpointer.save(self._epoch, self._network,
                                    self._trainer, runner_state)
        else:
            # The feeder inserts nothing past the epoch, but the prefetch
            # thread draws from the replay's generator.
            with self._pipeline.paused():
                self._checkpointer.save(
                    self._epoch, self._network, self._trainer,
                    {**runner_state, 'async': self._pipeline.state_dict()})
        self._last_saved_epoch = self._epoch

    def run(self) -> None:
        """Runs epochs until n_epochs (or forever), then closes.

        On Ctrl-C between or while gathering episodes the state after the
        last completed epoch is checkpointed; during training it is already
        half-changed, so the run resumes from the last checkpoint.

        Raises:
            Exception: what failed an epoch (an env or agent, the trainer, a
                callback, a metrics or checkpoint write); then the failure
                property says what failed, in which epoch, and the
                checkpoint a re-run resumes from.
        """
        if self._n_epochs is not None and self._epoch >= self._n_epochs:
            print(f'All {self._n_epochs} epochs of this run are already done '
                  f'in {self._output_dir}. Raise Runner.n_epochs to continue '
                  f'it, or choose a new --output_dir.', file=sys.stderr)
        try:
            # A bar over epochs when stdout is a terminal; nothing otherwise.
            with metric_logging.epoch_progress(
                    total=self._n_epochs, initial=self._epoch) as progress:
                while self._n_epochs is None or self._epoch < self._n_epochs:
                    self._run_epoch_or_fail()
                    progress.update()
        except KeyboardInterrupt:
            if (self._checkpoint_every and self._phase in ('idle', 'gather')
                    and self._last_saved_epoch != self._epoch):
                try:
                    self.save_checkpoint()
                except errors.CheckpointWriteError as error:
                    print(f'\nSaving on interrupt failed: {error}',
                          file=sys.stderr)
            print(f'\nInterrupted. The last checkpoint holds '
                  f'{self._last_saved_epoch or 0} completed epochs; re-run '
                  f'the same command to resume.', file=sys.stderr)
            raise
        finally:
            self.close()

    def _run_epoch_or_fail(self) -> None:
        """run_epoch; on failure, records what failed (see failure)."""
        epoch = self._epoch
        try:
            self.run_epoch()
        except Exception as error:  # pylint: disable=broad-except
            self._failure = failures.RunFailure(
                self._stage_name(), epoch, self._last_saved_epoch, error)
            raise

    @property
    def failure(self) -> Optional[failures.RunFailure]:
        """Why the last run() raised (None if it did not): what failed, in
        which epoch, and the checkpoint a re-run resumes from. The CLI
        reports it; run() itself raises the original exception."""
        return self._failure

    def _stage_name(self) -> str:
        """What self._stage is, for a RunFailure's message."""
        describe = startup_checks.describe
        stepper = ('asynchronous collectors' if self._pipeline is not None
                   else describe(self._batch_stepper))
        return {
            'gather': (f'Gathering episodes ('
                       f'{stepper} stepping '
                       f'{describe(getattr(self._env_fn, "func", self._env_fn))}'
                       f' with {describe(self._agent_class)})'),
            'train': (f'Training ({describe(self._trainer)} on '
                      f'{describe(self._network)})'),
            'callbacks': 'A callback (' + ', '.join(
                describe(callback) for callback in self._callbacks) + ')',
            'metrics': 'Logging metrics',
            'config': f'Writing {run_directory.CONFIG_FILE}',
            'checkpoint': 'Writing a checkpoint',
        }[self._stage]

    def close(self) -> None:
        """Stops workers and closes loggers owned by the Runner."""
        for callback in self._callbacks:
            callback.close()
        self._callbacks = []
        if self._batch_stepper is not None:
            self._batch_stepper.close()
            self._batch_stepper = None
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None
        if self._metrics_logger in metric_logging.registered_loggers():
            metric_logging.unregister_logger(self._metrics_logger)
            self._metrics_logger.close()


def _check_finite(train_metrics: Dict[str, float]) -> None:
    """Raises FloatingPointError if a train metric is NaN or infinite."""
    for name, value in train_metrics.items():
        if not math.isfinite(float(value)):
            raise FloatingPointError(
                f'training diverged: train/{name} is {value}. Lower '
                f'the learning rate or check the targets.')
