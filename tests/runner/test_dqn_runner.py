"""DQN through the Runner: step-based, the asynchronous pipeline, and a
resume that keeps the replay (the Ray stepper runs the recurrent family in
test_recurrent_q_runner.py, and SAC in test_sac_runner.py)."""

import os

import gin
import numpy as np
import pytest
from cli_helpers import metric_values

import alpacka
from alpacka import runner as runner_lib
from alpacka.runner import cli

CONFIG = os.path.join(os.path.dirname(alpacka.__file__), 'configs',
                      'dqn_cartpole.gin')
# dqn_cartpole.gin, shrunk: 2 envs, 100 steps an epoch, training after
# every 10 steps once the replay holds 50 datapoints; 3-step returns.
SMALL_RUN = [
    'Runner.n_envs = 2', 'Runner.episode_time_limit = 40',
    'Runner.env_steps_per_epoch = 100', 'Runner.env_steps_per_train = 10',
    'Runner.callback_classes = []', 'QNetwork.hidden_sizes = (16,)',
    'QLearningTrainer.batch_size = 16',
    'QLearningTrainer.min_replay_size = 50',
    'QLearningTrainer.updates_per_step = 0.5', 'LinearSchedule.n_steps = 200']


def _config(*bindings):
    gin.clear_config()
    cli.parse_gin([CONFIG], SMALL_RUN + list(bindings))


def _replay_held(trainer):
    return trainer.replay_buffer.gather(np.arange(len(trainer.replay_buffer)))


def _check_targets(held, discount=0.99, n_step=3):
    """Every datapoint's bootstrap discount is gamma^k (k <= n) or 0."""
    allowed = [0.0] + [discount ** k for k in range(1, n_step + 1)]
    assert np.all(np.min(np.abs(held['discount'][:, None] -
                                np.array(allowed)[None]), axis=1) < 1e-6)
    assert np.all(held['return'] >= 1.0)  # CartPole pays 1 per step.


@pytest.mark.usefixtures('ray_cluster')
def test_dqn_trains_asynchronously(tmp_path):
    _config('Runner.n_epochs = 2', 'Runner.async_training = @AsyncTraining()',
            'AsyncTraining.n_collectors = 1',
            'AsyncTraining.steps_per_chunk = 10',
            'AsyncTraining.broadcast_every = 5',
            'AsyncTraining.learner_cpus = None')
    runner = runner_lib.Runner(str(tmp_path))
    runner.run()
    assert metric_values(tmp_path, 'counters/env_steps')[1] == 200
    updates = sum(metric_values(tmp_path, 'train/n_updates').values())
    assert updates > 0
    held = _replay_held(runner._trainer)  # pylint: disable=protected-access
    _check_targets(held)
    assert len(held['return']) + runner._trainer._accumulator.n_pending_steps == 200  # pylint: disable=protected-access


def _check_step_based_run(output_dir, runner, n_epochs):
    """Every step of an uninterrupted step-based run counted once, trained
    on at the configured rate, and in the replay with valid targets."""
    n_steps = 100 * n_epochs
    steps = metric_values(output_dir, 'counters/env_steps')
    assert steps == {epoch: 100 * (epoch + 1) for epoch in range(n_epochs)}
    # Training starts at 50 datapoints (52 steps: 2 envs x 2 waiting steps).
    updates = metric_values(output_dir, 'train/n_updates')
    assert sum(updates.values()) == pytest.approx(0.5 * (n_steps - 60), abs=6)
    held = _replay_held(runner._trainer)  # pylint: disable=protected-access
    waiting = runner._trainer._accumulator.n_pending_steps  # pylint: disable=protected-access
    assert len(held['return']) + waiting == n_steps
    _check_targets(held)
    policies = metric_values(output_dir,
                             'agent/policy/epsilon_greedy/episodes')
    assert sum(policies.values()) == sum(
        metric_values(output_dir, 'episode/count').values())


def test_resumed_dqn_keeps_replay_network_and_target(tmp_path):
    # Its first run is also the check of an uninterrupted step-based run.
    _config('Runner.n_epochs = 2')
    first = runner_lib.Runner(str(tmp_path))
    first.run()
    _check_step_based_run(tmp_path, first, n_epochs=2)
    held = _replay_held(first._trainer)  # pylint: disable=protected-access
    pending = first._trainer._accumulator.n_pending_steps  # pylint: disable=protected-access
    target = first.network.target_params

    _config('Runner.n_epochs = 3')
    resumed = runner_lib.Runner(str(tmp_path))
    resumed_held = _replay_held(resumed._trainer)  # pylint: disable=protected-access
    # The unfinished episodes' waiting steps were added on restore.
    assert len(resumed_held['return']) == len(held['return']) + pending
    for key, values in held.items():
        np.testing.assert_array_equal(resumed_held[key][:len(values)], values)
    for restored, saved in zip(resumed.network.target_params, target):
        np.testing.assert_array_equal(restored, saved)
    assert resumed.network.n_updates == first.network.n_updates
    resumed.run()
    assert metric_values(tmp_path, 'counters/env_steps')[2] == 300
