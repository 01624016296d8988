"""Soft Actor-Critic through the Runner: step-based, Local and Ray, resume."""

import os

import gin
import numpy as np
import pytest
from cli_helpers import metric_values

import alpacka
from alpacka import runner as runner_lib

# sac_pendulum.gin, shrunk: 2 envs of 40-step episodes, 60 steps an epoch,
# training after every 4 steps once the replay holds 50 transitions.
SMALL_RUN = [
    'Runner.n_envs = 2', 'Runner.episode_time_limit = 40',
    'Runner.env_steps_per_epoch = 60', 'Runner.env_steps_per_train = 4',
    'SoftActorCriticAgent.n_random_steps = 20',
    'SoftActorCriticNetwork.hidden_sizes = (16,)',
    'SoftActorCriticTrainer.batch_size = 16',
    'SoftActorCriticTrainer.min_replay_size = 50',
    'SoftActorCriticTrainer.updates_per_step = 1.0',
    'EvaluationCallback.every_n_epochs = 3',
    'EvaluationCallback.n_episodes = 2']


def _config(*bindings):
    gin.clear_config()
    gin.parse_config_files_and_bindings(
        [os.path.join(os.path.dirname(alpacka.__file__), 'configs',
                      'sac_pendulum.gin')], SMALL_RUN + list(bindings))


def _check_small_run(output_dir, episode_counts=None):
    # Nothing is trained until the replay holds 50: in epoch 0 that is after
    # 52 steps, so 3 calls of 4 updates; then 60 updates an epoch.
    assert metric_values(output_dir, 'train/n_updates') == {0: 12, 1: 60, 2: 60}
    assert np.isfinite(metric_values(output_dir, 'train/critic_loss')[2])
    # Two 40-step episodes end in epochs 1 (step 40) and 2 (step 80).
    episode_counts = episode_counts or {1: 2, 2: 2}
    assert metric_values(output_dir, 'episode/count') == episode_counts
    assert set(metric_values(output_dir, 'episode/length_mean').values()) == {40}
    assert metric_values(output_dir, 'eval_episode/count') == {2: 2}
    assert metric_values(output_dir, 'counters/env_steps')[2] == 180


@pytest.mark.usefixtures('ray_cluster')
def test_sac_runs_step_based_with_the_ray_stepper(tmp_path):
    # The uninterrupted run of the file (the LocalBatchStepper's counts are
    # checked by test_resumed_sac_keeps_its_replay_and_counts).
    _config('Runner.n_epochs = 3',
            'Runner.batch_stepper_class = @alpacka.batch_steppers.'
            'RayBatchStepper', 'RayBatchStepper.n_workers = 2')
    runner_lib.Runner(str(tmp_path)).run()
    _check_small_run(tmp_path)
    assert metric_values(tmp_path, 'agent/action_std')[1] > 0
    # Evaluation time is reported apart (benchmarks leave it out).
    callbacks_s = metric_values(tmp_path, 'time/callbacks_s')
    epoch_s = metric_values(tmp_path, 'time/epoch_s')
    assert set(callbacks_s) == {0, 1, 2}
    assert 0 < callbacks_s[2] < epoch_s[2] and callbacks_s[2] > callbacks_s[1]


def test_resumed_sac_keeps_its_replay_and_counts(tmp_path):
    _config('Runner.n_epochs = 2')
    first = runner_lib.Runner(str(tmp_path))
    first.run()
    replay = first._trainer.replay_buffer  # pylint: disable=protected-access
    params = first.network.params

    _config('Runner.n_epochs = 3')
    resumed = runner_lib.Runner(str(tmp_path))
    resumed_replay = resumed._trainer.replay_buffer  # pylint: disable=protected-access
    assert len(resumed_replay) == len(replay) == 120
    np.testing.assert_array_equal(resumed_replay.sample(120)['reward'].shape,
                                  (120,))
    for restored, trained in zip(resumed.network.params, params):
        np.testing.assert_array_equal(restored, trained)
    resumed.run()
    assert len(resumed_replay) == 180
    # The episodes under way at the checkpoint are not resumed (their steps
    # are in the replay): new ones start, and none ends in epoch 2.
    _check_small_run(tmp_path, episode_counts={1: 2})


@pytest.mark.parametrize('config, action_key', [
    ('sac_cartpole.gin', 'logits'), ('sac_lunar_lander.gin', 'mean')])
def test_other_sac_configs_run(tmp_path, config, action_key):
    """The discrete and the Box2D configs, shrunk to a few hundred steps."""
    gin.clear_config()
    gin.parse_config_files_and_bindings(
        [os.path.join(os.path.dirname(alpacka.__file__), 'configs', config)],
        ['Runner.n_epochs = 2', 'Runner.env_steps_per_epoch = 100',
         'Runner.episode_time_limit = 30',
         'SoftActorCriticAgent.n_random_steps = 50',
         'SoftActorCriticNetwork.hidden_sizes = (16,)',
         'SoftActorCriticTrainer.batch_size = 16',
         'SoftActorCriticTrainer.min_replay_size = 50',
         'EvaluationCallback.n_episodes = 2'])
    runner = runner_lib.Runner(str(tmp_path))
    assert action_key in runner.network_signature.output
    runner.run()
    # Training starts at 50 transitions: 51 updates, then 100.
    assert metric_values(tmp_path, 'train/n_updates') == {0: 51, 1: 100}
    assert set(metric_values(tmp_path, 'eval_episode/count').values()) == {2}
