"""Tests of the Q-learning benchmarks' plumbing, without learning: the
command lines, the goal report on hand-made runs, the bare DQN update's
maths on real networks, the peer's env wrappers and schedules, and (where
the peer virtualenv exists) real Stable-Baselines3 DQN processes."""

import argparse
import json
import os
import subprocess
import sys

import gymnasium
import numpy as np
import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), 'benchmarks')
sys.path.insert(0, BENCHMARKS)
# pylint: disable=import-error,wrong-import-position
import dqn_bare_update
import dqn_cartpole
import dqn_minatar
import dqn_partial_observability
import harness
import peer_venvs
import sb3_dqn
import sb3_peer
# pylint: enable=import-error,wrong-import-position


def _metrics_file(run_dir, epochs):
    """A hand-made metrics.jsonl: (env_steps, epoch_s, callbacks_s,
    eval_return or None) per epoch."""
    os.makedirs(run_dir)
    lines = []
    for epoch, (steps, epoch_s, callbacks_s, evaluation) in enumerate(epochs):
        values = {'counters/env_steps': steps, 'time/epoch_s': epoch_s,
                  'time/callbacks_s': callbacks_s}
        if evaluation is not None:
            values[harness.EVAL_RETURN] = evaluation
        lines += [json.dumps({'step': epoch, 'name': name, 'value': value,
                              'time': 0.0}) for name, value in values.items()]
    with open(os.path.join(run_dir, 'metrics.jsonl'), 'w',
              encoding='utf-8') as metrics:
        metrics.write('\n'.join(lines) + '\n')


def test_goal_report_reads_steps_and_train_time_to_the_goal(tmp_path,
                                                            capsys):
    results = harness.Results(str(tmp_path))
    # Epoch 1 is not evaluated; train time leaves the callbacks out.
    _metrics_file(str(tmp_path / 'a0'), [(1000, 5.0, 1.0, 200.0),
                                         (2000, 5.0, 0.0, None),
                                         (3000, 5.0, 1.0, 480.0),
                                         (4000, 5.0, 1.0, 500.0)])
    results.add('alpacka', 0, harness.alpacka_points(str(tmp_path / 'a0')))
    assert harness.first_reaching(results.points('alpacka', 0), 475) == {
        'steps': 3000, 'eval_return': 480.0, 'train_s': 13.0}
    results.add('alpacka', 1, [{'steps': 1000, 'eval_return': 475.0,
                                'train_s': 2.0}])
    results.add('alpacka', 2, [{'steps': 1000, 'eval_return': 100.0,
                                'train_s': 2.0}])
    for seed in (0, 1, 2):
        results.add('peer', seed, [{'steps': 5000, 'eval_return': 470.0,
                                    'train_s': 1.0}] + (
            [{'steps': 6000, 'eval_return': 490.0, 'train_s': 3.0}]
            if seed == 0 else []))
    summary = harness.goal_report(results, ['alpacka', 'peer'], [0, 1, 2],
                                  475)
    # Alpacka: 3000 and 1000 steps, and never: the median is 3000.
    assert summary['alpacka'] == {'steps': 3000.0, 'train_s': 13.0,
                                  'reached': 2, 'n_seeds': 3,
                                  'best': [500.0, 475.0, 100.0]}
    # One peer seed of three reached it: the median is never.
    assert summary['peer']['steps'] is None
    assert summary['peer']['reached'] == 1
    printed = capsys.readouterr().out
    assert '| alpacka | 2/3 | 3,000 | 13.0 | 500, 475, 100 |' in printed
    assert '| peer | 1/3 | never | never | 490, 470, 470 |' in printed


def test_run_protocol_adds_the_goal_summaries(tmp_path):
    results = harness.Results(str(tmp_path))
    results.add('peer', 0, [{'steps': 500, 'eval_return': 10.0,
                             'train_s': 1.0}])
    args = dqn_cartpole_args(['--root', str(tmp_path), '--seeds', '1'])
    never_runs = harness.Side('peer', lambda seed, run_dir: ['false'],
                              lambda run_dir, stdout: [])
    aggregates = harness.run_protocol(args, [never_runs], [500], 500, goal=5)
    assert aggregates['peer']['goal']['steps'] == 500.0
    assert 'goal' not in harness.run_protocol(args, [never_runs], [500],
                                              500)['peer']


def dqn_cartpole_args(argv):
    """dqn_cartpole.py's flags parsed (what run_protocol reads)."""
    parser = argparse.ArgumentParser()
    dqn_cartpole.add_dqn_arguments(parser, dqn_cartpole.CONFIG, 1000)
    return parser.parse_args(argv)


def test_steps_per_epoch_are_read_from_the_config(tmp_path):
    assert harness.config_steps_per_epoch(
        'alpacka/configs/sac_cartpole.gin') == 1000
    config = tmp_path / 'c.gin'
    config.write_text('# Runner.env_steps_per_epoch = 7\n'
                      'Runner.env_steps_per_epoch = 2_500  # an epoch\n')
    assert harness.config_steps_per_epoch(str(config)) == 2500
    # An include is followed; a binding after it wins.
    including = tmp_path / 'd.gin'
    including.write_text("include 'c.gin'\nRunner.n_epochs = 3\n")
    assert harness.config_steps_per_epoch(str(including)) == 2500
    including.write_text("include 'c.gin'\nRunner.env_steps_per_epoch = 9\n")
    assert harness.config_steps_per_epoch(str(including)) == 9
    config.write_text('Runner.n_epochs = 3\n')
    with pytest.raises(ValueError, match='does not bind Runner.env_steps_'):
        harness.config_steps_per_epoch(str(config))


def test_drivers_command_lines():
    assert dqn_cartpole.budgets_up_to(50_000, 1000) == [
        10_000, 20_000, 30_000, 40_000, 50_000]
    # Budgets fall on evaluations; steps itself is always the last one.
    assert dqn_cartpole.budgets_up_to(2500, 1000) == [1000, 2000, 2500]
    args = dqn_minatar.parse(['--budgets', '500', '100', '--peer_env',
                              'MinAtar/Breakout-v0'])
    assert (args.budgets, args.steps, args.seeds) == ([100, 500], 500, 3)
    assert dqn_cartpole.steps_per_epoch(dqn_minatar.parse(
        ['--steps_per_epoch', '700'])) == 700
    assert dqn_cartpole.steps_per_epoch(dqn_minatar.parse(
        ['--config_file', 'alpacka/configs/sac_cartpole.gin'])) == 1000
    assert dqn_cartpole.peer_arguments('CartPoleNoVel', 100, 50) == [
        'learn', '--algo', 'dqn', '--env', 'CartPoleNoVel', '--steps', '100',
        '--eval_every', '50', '--eval_episodes', '10', '--threads', '1']
    assert dqn_partial_observability.NO_VEL_ENV.startswith(
        'Runner.env_class=')
    with pytest.raises(SystemExit):
        dqn_minatar.parse(['--peer_env', 'MinAtar/Pong-v0'])


def test_sb3_peer_command_line_takes_the_dqn_modes(capsys):
    command_line = sb3_peer.parser()
    args = command_line.parse_args(['learn', '--algo', 'dqn', '--env',
                                    'MinAtar/Breakout-v1'])
    assert (args.algo, args.env, args.threads) == ('dqn',
                                                   'MinAtar/Breakout-v1', 1)
    assert command_line.parse_args(['updates', '--algo', 'dqn']).algo == 'dqn'
    # SAC's tuned settings are not for CartPoleNoVel: one message, exit 2.
    with pytest.raises(SystemExit) as exit_info:
        sb3_peer.main(['learn', '--algo', 'sac', '--env', 'CartPoleNoVel'])
    assert exit_info.value.code == 2
    assert 'runs on Pendulum-v1, HalfCheetah-v5' in capsys.readouterr().err


def test_peer_cartpole_no_vel_stacks_the_masked_observations():
    sb3_dqn.register_envs(sb3_dqn.CARTPOLE_NO_VEL)
    env = gymnasium.make(sb3_dqn.CARTPOLE_NO_VEL)
    assert env.observation_space.shape == (4, 2)
    observation, _ = env.reset(seed=3)
    # Padded with the reset observation: (x, theta) of CartPole's state.
    state = np.array(env.unwrapped.state)
    np.testing.assert_allclose(observation, np.tile(state[[0, 2]], (4, 1)),
                               rtol=1e-6)
    next_observation, *_ = env.step(1)
    np.testing.assert_array_equal(next_observation[:3], observation[1:])
    np.testing.assert_allclose(next_observation[3],
                               np.array(env.unwrapped.state)[[0, 2]],
                               rtol=1e-6)


def test_peer_minatar_epsilon_follows_the_published_schedule():
    epsilon = sb3_dqn.minatar_epsilon(500_000)

    def at(step):
        return epsilon(1 - step / 500_000)

    # 1 through the 5,000 random steps, then linear to 0.1 over 100,000.
    assert [at(0), at(5000), at(55_000), at(105_000), at(500_000)] == (
        pytest.approx([1.0, 1.0, 0.55, 0.1, 0.1]))


def _huber(error):
    error = np.abs(error)
    return np.where(error < 1, 0.5 * error ** 2, error - 0.5)


def test_bare_update_regresses_on_the_double_dqn_target_and_copies_target():
    from alpacka.utils import tensorflow_import  # pylint: disable=import-outside-toplevel
    tf, keras = tensorflow_import.import_tensorflow()
    bare = dqn_bare_update.BareDQNUpdate(tf, keras, n_actions=3,
                                         target_every=2, seed=0)
    batch = dqn_bare_update.random_atari_batches(4, 3, seed=1)
    assert batch['observation'].shape == (4, 84, 84, 4)
    # The target network acts differently from the online one.
    shifted = [w + 0.01 for w in bare.online.get_weights()]
    bare.target.set_weights(shifted)
    # The rows train's first batch draws (rng seeded 0).
    picked = {key: value[np.random.default_rng(0).integers(4, size=4)]
              for key, value in batch.items()}
    online = np.asarray(bare.online(picked['next_observation']))
    target = np.asarray(bare.target(picked['next_observation']))
    q = np.asarray(bare.online(picked['observation']))
    rows = np.arange(4)
    y = picked['reward'] + 0.99 * (1 - picked['terminated']) * target[
        rows, online.argmax(axis=1)]
    expected = _huber(q[rows, picked['action']] - y).mean()
    before = bare.online.get_weights()
    loss = bare.train(batch, 1, np.random.default_rng(0), batch_size=4)
    assert loss == pytest.approx(expected, rel=1e-4)
    assert any(np.abs(a - b).max() > 0 for a, b in zip(
        before, bare.online.get_weights()))
    for kept, weight in zip(bare.target.get_weights(), shifted):
        np.testing.assert_array_equal(kept, weight)
    # The second update copies the online network to the target; the third
    # leaves the copy as it was.
    bare.train(batch, 1, np.random.default_rng(1), batch_size=4)
    copied = bare.online.get_weights()
    for kept, weight in zip(bare.target.get_weights(), copied):
        np.testing.assert_array_equal(kept, weight)
    bare.train(batch, 1, np.random.default_rng(2), batch_size=4)
    for kept, weight in zip(bare.target.get_weights(), copied):
        np.testing.assert_array_equal(kept, weight)
    assert any(np.abs(a - b).max() > 0 for a, b in zip(
        copied, bare.online.get_weights()))


def _sb3_python():
    python, why_not = peer_venvs.peer_python('sb3', install=False)
    if python is None:
        pytest.skip(f'the sb3 peer virtualenv is not on this machine '
                    f'({why_not}); benchmarks make it on first use')
    return python


def test_sb3_peer_dqn_runs_minatar():
    # The updates mode is left to dqn_update_speed.py: a second torch
    # process would double this test's time.
    result = subprocess.run(
        [_sb3_python(), peer_venvs.peer_script('sb3'), 'learn', '--algo',
         'dqn', '--env', 'MinAtar/Breakout-v1', '--steps', '300',
         '--eval_every', '150', '--eval_episodes', '1'],
        capture_output=True, text=True, check=True, timeout=300,
        env=dict(os.environ, **harness.ONE_THREAD))
    records = [json.loads(line) for line in result.stdout.splitlines()
               if line.startswith('{')]
    assert [record['steps'] for record in records] == [150, 300, 300]
    assert records[-1]['done'] is True
    assert all(record['eval_return'] >= 0 for record in records[:2])
