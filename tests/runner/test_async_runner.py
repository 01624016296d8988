"""Asynchronous actor-learner training through the Runner and the CLI:
exact counts, the rate contract, a collector killed for real, the driver
killed for real and resumed, and the config mistakes refused up front."""

import os
import signal
import subprocess
import sys
import time

import gin
import numpy as np
import pytest
from async_helpers import (SMALL_ASYNC_RUN, assert_no_transition_twice,
                           checkpointed_state, kill_processes_mentioning,
                           processes_mentioning)
from cli_helpers import REPO_ROOT, main_in_process, metric_values

import alpacka
from alpacka import agents
from alpacka import errors
from alpacka import runner as runner_lib
from alpacka.runner import callbacks
from alpacka.runner import cli

ASYNC_CONFIG = os.path.join(os.path.dirname(alpacka.__file__), 'configs',
                            'sac_pendulum_async.gin')


@gin.configurable
class EpisodeOnlyAsyncAgent(agents.Agent):
    """An Agent that is no OnlineAgent: it plays whole episodes only."""

    def solve(self, env, epoch=None, init_state=None, time_limit=None):
        raise NotImplementedError  # Refused before it would play.


def _config(*bindings):
    gin.clear_config()
    cli.parse_gin([ASYNC_CONFIG], SMALL_ASYNC_RUN + list(bindings))


def _check_rate_contract(output_dir, ratio=1.0, min_size=40):
    """Updates stay within the tolerance of ratio x (steps - min_size)."""
    updates = np.cumsum([value for _, value in sorted(
        metric_values(output_dir, 'train/n_updates').items())])
    steps = [value for _, value in sorted(
        metric_values(output_dir, 'counters/env_steps').items())]
    # Tolerance: one chunk of every collector (2 envs x 10 steps, ratio 1).
    tolerance = 20 * len(metric_values(output_dir, 'async/replay_size'))
    for n_updates, n_steps in zip(updates, steps[-len(updates):]):
        assert abs(n_updates - ratio * (n_steps - min_size)) <= tolerance


def _check_counts(output_dir, n_epochs, n_collectors):
    """Every step counted once in an uninterrupted run of n_epochs of 100
    steps (2 envs of 30-step episodes per collector), 1 update per step
    after the first 40, and the async metrics in range."""
    n_steps = 100 * n_epochs
    per_epoch = {epoch: 100 * (epoch + 1) for epoch in range(n_epochs)}
    assert metric_values(output_dir, 'counters/env_steps') == per_epoch
    assert metric_values(output_dir, 'async/replay_size') == per_epoch
    # With s of the steps (chunks of 20) taken by one collector, its envs
    # end s // 60 episodes each.
    possible = {2 * (s // 60) + 2 * ((n_steps - s) // 60)
                for s in range(0, n_steps + 1, 20)} if n_collectors == 2 else {
                    2 * (n_steps // 60)}
    assert sum(metric_values(output_dir, 'episode/count').values()) in possible
    _, trainer_state = checkpointed_state(output_dir)
    assert trainer_state['replay_buffer']['size'] == n_steps
    assert_no_transition_twice(trainer_state['replay_buffer'])
    # 1 update per step after the first 40 steps, within the tolerance
    # (the learner may run up to one chunk per collector behind or ahead).
    total_updates = sum(metric_values(output_dir, 'train/n_updates').values())
    assert abs(total_updates - (n_steps - 40)) <= 20 * n_collectors + 2
    lag = metric_values(output_dir, 'async/policy_lag_mean')
    assert all(value >= 0 for value in lag.values())
    assert metric_values(output_dir, 'async/collector_restarts')[
        n_epochs - 1] == 0
    busy = metric_values(output_dir, 'async/learner_busy_fraction')
    assert all(0 <= value <= 1 for value in busy.values())


class _KillCollectorAfterFirstEpoch(callbacks.Callback):
    """Kills collector 0's process with SIGKILL at the end of epoch 0."""

    def __init__(self, runner):
        super().__init__(runner)
        self.killed_pid = None

    def on_epoch_end(self, epoch):
        if epoch == 0:
            # pylint: disable-next=protected-access
            self.killed_pid = self._runner._pipeline.collectors.pids()[0]
            os.kill(self.killed_pid, signal.SIGKILL)


def test_a_killed_collector_is_replaced_and_the_run_goes_on(ray_cluster,
                                                            tmp_path):
    del ray_cluster
    _config('Runner.n_epochs = 3', 'AsyncTraining.n_collectors = 2',
            'AsyncTraining.collector_cpus = 0.5')
    runner = runner_lib.Runner(
        str(tmp_path), callback_classes=[_KillCollectorAfterFirstEpoch])
    killer = runner._callbacks[0]  # pylint: disable=protected-access
    runner.run()
    assert killer.killed_pid is not None
    assert metric_values(tmp_path, 'async/collector_restarts')[2] == 1
    assert metric_values(tmp_path, 'counters/env_steps')[2] == 300
    _, trainer_state = checkpointed_state(tmp_path)
    assert trainer_state['replay_buffer']['size'] == 300
    assert_no_transition_twice(trainer_state['replay_buffer'])


def test_the_checkpoint_keeps_the_rate_counts_and_a_rerun_resumes(ray_cluster,
                                                                  tmp_path):
    del ray_cluster
    _config('Runner.n_epochs = 2')  # One collector.
    runner_lib.Runner(str(tmp_path)).run()
    _check_counts(tmp_path, n_epochs=2, n_collectors=1)
    runner_state, _ = checkpointed_state(tmp_path)
    assert runner_state['async']['rate_limiter']['inserted'] == 200
    updates_before = runner_state['async']['rate_limiter']['updates']
    assert updates_before == sum(
        metric_values(tmp_path, 'train/n_updates').values())
    _config('Runner.n_epochs = 4')
    runner_lib.Runner(str(tmp_path)).run()
    assert metric_values(tmp_path, 'counters/env_steps') == {
        0: 100, 1: 200, 2: 300, 3: 400}
    runner_state, trainer_state = checkpointed_state(tmp_path)
    assert trainer_state['replay_buffer']['size'] == 400
    assert_no_transition_twice(trainer_state['replay_buffer'])
    assert runner_state['async']['rate_limiter']['updates'] > updates_before


def _start_run(output_dir, ray_dir, n_epochs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', RAY_TMPDIR=str(ray_dir))
    env.pop('RAY_ADDRESS', None)
    args = [sys.executable, '-m', 'alpacka.runner',
            f'--config_file={ASYNC_CONFIG}', f'--output_dir={output_dir}',
            f'--config=Runner.n_epochs={n_epochs}']
    args += [f'--config={binding}' for binding in SMALL_ASYNC_RUN]
    return subprocess.Popen(  # pylint: disable=consider-using-with
        args, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)


def test_a_driver_killed_for_real_resumes_from_its_checkpoint(ray_cluster,
                                                             tmp_path, capsys):
    """SIGKILL the driver after its first checkpoint; the re-run resumes,
    with the replay restored, every step counted once, and Ray gone.

    The killed driver is a real process with a Ray instance of its own; the
    re-run is in this process, on the session's Ray (what it tests is the
    resume from what the killed process left, not a process).
    """
    del ray_cluster
    ray_dir = f'/tmp/alpacka-kill-{os.getpid()}'
    output_dir = tmp_path / 'run'
    try:
        process = _start_run(output_dir, ray_dir, n_epochs=30)
        latest = output_dir / 'checkpoints' / 'latest'
        deadline = time.monotonic() + 180
        while not latest.exists() and process.poll() is None:
            assert time.monotonic() < deadline, 'no checkpoint in 180 s'
            time.sleep(0.2)
        assert process.poll() is None, process.stderr.read()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stderr.close()
        runner_state, _ = checkpointed_state(output_dir)
        saved_epochs = runner_state['epoch']
        assert 1 <= saved_epochs < 30
        # Ray's own reaper ends what the killed driver started.
        deadline = time.monotonic() + 30
        while processes_mentioning(ray_dir) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not processes_mentioning(ray_dir)

        n_epochs = saved_epochs + 2
        capsys.readouterr()
        _config(f'Runner.n_epochs = {n_epochs}')
        runner_lib.Runner(str(output_dir)).run()
        assert (f'Resuming from the checkpoint after epoch {saved_epochs}'
                in capsys.readouterr().err)
        steps = metric_values(output_dir, 'counters/env_steps')
        assert steps == {epoch: 100 * (epoch + 1) for epoch in range(n_epochs)}
        _, trainer_state = checkpointed_state(output_dir)
        assert trainer_state['replay_buffer']['size'] == 100 * n_epochs
        assert_no_transition_twice(trainer_state['replay_buffer'])
    finally:
        kill_processes_mentioning(ray_dir)


@pytest.mark.parametrize('bindings, expected', [
    (['Runner.trainer_class = @alpacka.trainers.DummyTrainer'],
     'DummyTrainer keeps no replay buffer'),
    (['Runner.trainer_class = @alpacka.trainers.SupervisedTrainer'],
     'SupervisedTrainer learns from whole episodes'),
    (['Runner.agent_class = @EpisodeOnlyAsyncAgent',
      'Runner.network_class = @alpacka.networks.DummyNetwork',
      'Runner.trainer_class = @alpacka.trainers.DummyTrainer'],
     'EpisodeOnlyAsyncAgent plays whole episodes'),
    (['Runner.env_steps_per_epoch = 90'],
     'must be a multiple of one collector chunk'),
    (['AsyncTraining.rate_tolerance = 5.0'],
     'AsyncTraining.rate_tolerance = 5.0 updates is too small'),
    (['Runner.env_steps_per_epoch = None'],
     'Runner.async_training needs step-based epochs'),
    (['Runner.n_precollect_epochs = 1'],
     'use that instead'),
])
def test_mistakes_are_refused_before_anything_starts(tmp_path, capsys,
                                                     bindings, expected):
    config = tmp_path / 'small.gin'
    config.write_text('\n'.join(SMALL_ASYNC_RUN) + '\n')
    output_dir = tmp_path / 'run'
    code = main_in_process(
        [f'--config_file={ASYNC_CONFIG}', f'--config_file={config}',
         f'--output_dir={output_dir}'] +
        [f'--config={binding}' for binding in bindings])
    message = capsys.readouterr().err
    assert code == 2, message
    assert expected in message
    assert len(message.strip().splitlines()) == 1
    assert not os.path.exists(output_dir / 'checkpoints')


def test_a_trainer_without_a_replay_is_refused():
    class EpisodeOnly:  # pylint: disable=too-few-public-methods
        """Takes transitions, but keeps no replay."""

        def add_transitions(self, batch):
            """Drops the batch."""
            del batch
    from alpacka.runner import async_training  # pylint: disable=import-outside-toplevel
    with pytest.raises(errors.ConfigError, match='keeps no replay buffer'):
        async_training.check_trainer(EpisodeOnly())


def test_collectors_can_share_one_inference_actor(ray_cluster, tmp_path):
    # Also the counts of two collectors (one collector's are checked in
    # test_the_checkpoint_keeps_the_rate_counts_and_a_rerun_resumes).
    del ray_cluster
    _config('Runner.n_epochs = 2', "AsyncTraining.inference = 'shared'",
            'AsyncTraining.n_collectors = 2',
            'AsyncTraining.collector_cpus = 0.5',
            'AsyncTraining.inference_cpus = 0.5')
    runner_lib.Runner(str(tmp_path)).run()
    _check_counts(tmp_path, n_epochs=2, n_collectors=2)
