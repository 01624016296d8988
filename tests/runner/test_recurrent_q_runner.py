"""Recurrent Q-learning through the Runner: dqn_cartpole_novel_lstm.gin
shrunk, step-based with the Local and Ray steppers, the asynchronous
pipeline, and a resume that keeps the sequence replay."""

import os

import gin
import numpy as np
import pytest
from cli_helpers import metric_values

import alpacka
from alpacka import runner as runner_lib
from alpacka.runner import cli

CONFIG = os.path.join(os.path.dirname(alpacka.__file__), 'configs',
                      'dqn_cartpole_novel_lstm.gin')
# Shrunk: 2 envs, 100 steps an epoch, sequences of 6 steps (overlap 2,
# burn-in 2), training after every 10 steps once 30 steps reached the replay
# (so the first epoch already trains).
SMALL_RUN = [
    'Runner.n_envs = 2', 'Runner.episode_time_limit = 40',
    'Runner.env_steps_per_epoch = 100', 'Runner.env_steps_per_train = 10',
    'Runner.callback_classes = []', 'RecurrentQAgent.recurrent_size = 8',
    'RecurrentQNetwork.hidden_sizes = (8,)',
    'RecurrentQNetwork.jit_compile = False',
    'RecurrentQLearningTrainer.sequence_length = 6',
    'RecurrentQLearningTrainer.sequence_overlap = 2',
    'RecurrentQLearningTrainer.burn_in = 2',
    'RecurrentQLearningTrainer.batch_size = 4',
    'RecurrentQLearningTrainer.min_replay_size = 30',
    'RecurrentQLearningTrainer.updates_per_step = 0.1',
    'LinearSchedule.n_steps = 200']


def _config(*bindings):
    gin.clear_config()
    cli.parse_gin([CONFIG], SMALL_RUN + list(bindings))


def _held(trainer):
    return trainer.replay_buffer.gather(np.arange(len(trainer.replay_buffer)))


def _check_sequences(held, n_steps):
    """Valid steps pay 1 (CartPole) and every step is held once or twice."""
    mask = held['mask'].astype(bool)
    assert np.all(held['return'][mask] >= 1.0)
    assert np.all(held['return'][~mask] == 0)
    assert held['mask'].sum() <= n_steps * 2


def test_recurrent_dqn_runs_step_based_and_resumes(tmp_path):
    _config('Runner.n_epochs = 1')
    first = runner_lib.Runner(str(tmp_path))
    first.run()
    assert metric_values(tmp_path, 'counters/env_steps') == {0: 100}
    assert sum(metric_values(tmp_path, 'train/n_updates').values()) > 0
    trainer = first._trainer  # pylint: disable=protected-access
    held = _held(trainer)
    _check_sequences(held, 100)
    steps_cut = trainer.state_dict()['sequences']['n_steps_cut']
    pending = trainer._accumulator.n_pending_steps  # pylint: disable=protected-access
    # Every step once; a waiting episode's first 2 steps (the overlap with
    # its last sequence cut) are counted in both.
    assert 100 <= steps_cut + pending <= 100 + 2 * 2
    target = first.network.target_params

    _config('Runner.n_epochs = 2')
    resumed = runner_lib.Runner(str(tmp_path))
    resumed_held = _held(resumed._trainer)  # pylint: disable=protected-access
    for key in ('observation', 'action', 'return', 'mask'):
        np.testing.assert_array_equal(
            resumed_held[key][:len(held[key])], held[key])
    for restored, saved in zip(resumed.network.target_params, target):
        np.testing.assert_array_equal(restored, saved)
    assert resumed.network.n_updates == first.network.n_updates
    resumed.run()
    assert metric_values(tmp_path, 'counters/env_steps')[1] == 200


@pytest.mark.usefixtures('ray_cluster')
def test_recurrent_dqn_runs_with_the_ray_stepper(tmp_path):
    _config('Runner.n_epochs = 1',
            'Runner.batch_stepper_class = @alpacka.batch_steppers.'
            'RayBatchStepper', 'RayBatchStepper.n_workers = 2')
    runner = runner_lib.Runner(str(tmp_path))
    runner.run()
    assert metric_values(tmp_path, 'counters/env_steps')[0] == 100
    held = _held(runner._trainer)  # pylint: disable=protected-access
    _check_sequences(held, 100)
    # The workers' agents carried their states: zeros only at episode starts.
    starts = held['initial_state']['h']
    assert np.abs(starts).max() > 0


@pytest.mark.usefixtures('ray_cluster')
def test_recurrent_dqn_trains_asynchronously(tmp_path):
    _config('Runner.n_epochs = 2',
            'Runner.async_training = @AsyncTraining()',
            'AsyncTraining.n_collectors = 1',
            'AsyncTraining.steps_per_chunk = 10',
            'AsyncTraining.broadcast_every = 5',
            'AsyncTraining.learner_cpus = None')
    runner = runner_lib.Runner(str(tmp_path))
    runner.run()
    assert metric_values(tmp_path, 'counters/env_steps')[1] == 200
    assert sum(metric_values(tmp_path, 'train/n_updates').values()) > 0
    _check_sequences(_held(runner._trainer), 200)  # pylint: disable=protected-access
