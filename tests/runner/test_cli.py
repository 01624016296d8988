"""End-to-end tests of python -m alpacka.runner: the user stories of the CLI."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from cli_helpers import (QUICKSTART, SMALL_CONFIG, metric_values, read_metrics,
                         run_cli, start_cli, write)
from user_module_source import SOURCE

from alpacka import metric_logging
from alpacka.utils import run_directory


@pytest.fixture(name='user_dir')
def fixture_user_dir(tmp_path):
    """A researcher's own directory with their module and a small config."""
    write(tmp_path / 'my_module.py', SOURCE)
    write(tmp_path / 'small.gin', SMALL_CONFIG)
    return tmp_path


def test_quickstart_as_documented(tmp_path):
    output_dir = tmp_path / 'out'
    result = run_cli([f'--config_file={QUICKSTART}',
                      '--config=Runner.episode_time_limit=50',
                      '--config=Runner.n_envs=8',
                      f'--output_dir={output_dir}'])
    assert result.returncode == 0, result.stderr
    for name in ('episode/return_mean', 'episode/return_max',
                 'episode/length_mean', 'episode/count', 'time/epoch_s'):
        assert name in result.stdout
    assert metric_values(output_dir, 'episode/count') == {0: 8, 1: 8, 2: 8}
    # Shooting keeps the pole up for the whole 50 steps.
    assert set(metric_values(output_dir, 'episode/return_mean').values()) == {
        50.0}
    config = (output_dir / 'config.gin').read_text()
    assert 'ShootingAgent.n_rollouts = 32' in config
    assert 'Runner.n_envs = 8' in config
    assert (output_dir / 'checkpoints' / 'latest').read_text().strip() == (
        'epoch_000003')
    assert 'Traceback' not in result.stderr


def test_later_configs_override_earlier_ones(user_dir, tmp_path):
    override = write(tmp_path / 'override.gin', 'Runner.n_envs = 3\n')
    output_dir = tmp_path / 'out'
    result = run_cli([f'--config_file={user_dir / "small.gin"}',
                      f'--config_file={override}',
                      '--config=Runner.n_epochs=1',
                      '--config=Runner.n_epochs=2',
                      f'--output_dir={output_dir}'])
    assert result.returncode == 0, result.stderr
    assert metric_values(output_dir, 'episode/count') == {0: 3, 1: 3}


@pytest.mark.parametrize('agent', ['ThresholdAgent', 'PlainAgent'])
def test_user_agent_and_trainer_from_own_module(user_dir, agent):
    config = write(user_dir / 'mine.gin', f"""
import my_module
include 'small.gin'
Runner.agent_class = @my_module.{agent}
Runner.trainer_class = @my_module.CountingTrainer
""")
    result = run_cli([f'--config_file={config}', '--output_dir=out'],
                     cwd=user_dir)
    assert result.returncode == 0, result.stderr
    output_dir = user_dir / 'out'
    lengths = metric_values(output_dir, 'episode/length_mean')
    transitions = metric_values(output_dir, 'train/transitions_seen')
    assert transitions[2] == pytest.approx(2 * sum(lengths.values()))
    # The threshold policy balances much longer than random.
    assert min(lengths.values()) >= 15
    if agent == 'ThresholdAgent':
        assert metric_values(output_dir, 'agent/custom_metric')[0] == 2


def test_resume_continues_epochs_and_trainer_state(user_dir):
    config = write(user_dir / 'mine.gin', """
import my_module
include 'small.gin'
Runner.trainer_class = @my_module.CountingTrainer
""")
    first = run_cli([f'--config_file={config}', '--output_dir=out',
                     '--config=Runner.n_epochs=2', '--config=Runner.seed=3'],
                    cwd=user_dir)
    assert first.returncode == 0, first.stderr
    second = run_cli([f'--config_file={config}', '--output_dir=out',
                      '--config=Runner.n_epochs=4', '--config=Runner.seed=3'],
                     cwd=user_dir)
    assert second.returncode == 0, second.stderr
    assert 'Resuming from the checkpoint after epoch 2' in second.stderr
    output_dir = user_dir / 'out'
    steps = [r['step'] for r in read_metrics(output_dir)
             if r['name'] == 'episode/count']
    assert steps == [0, 1, 2, 3]
    # The trainer's count was restored, not restarted.
    assert metric_values(output_dir, 'train/transitions_seen')[3] == (
        metric_values(output_dir, 'counters/env_steps')[3])
    # The same bindings (a re-run without the seed would be refused as a
    # change of configuration).
    third = run_cli([f'--config_file={config}', '--output_dir=out',
                     '--config=Runner.n_epochs=4', '--config=Runner.seed=3'],
                    cwd=user_dir)
    assert third.returncode == 0
    assert 'All 4 epochs of this run are already done' in third.stderr
    # The resumed epochs played new episodes, not epoch 0's again.
    returns = metric_values(output_dir, 'episode/return_mean')
    assert returns[2] != returns[0] or returns[3] != returns[1]
    assert [r['step'] for r in read_metrics(output_dir)
            if r['name'] == 'episode/count'] == [0, 1, 2, 3]


def _completed_epochs(output_dir):
    latest = output_dir / 'checkpoints' / 'latest'
    return int(latest.read_text().strip()[len('epoch_'):]) if (
        latest.exists()) else 0


def _wait_for_epochs(output_dir, n_epochs, process, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if _completed_epochs(output_dir) >= n_epochs:
            return
        time.sleep(0.002)


def test_sigkill_at_any_instant_then_rerun_completes(user_dir):
    config = write(user_dir / 'mine.gin', """
import my_module
include 'small.gin'
Runner.agent_class = @my_module.PlainAgent
Runner.trainer_class = @my_module.CountingTrainer
Runner.n_epochs = 60
Runner.episode_time_limit = 200
Runner.n_envs = 4
""")
    args = [f'--config_file={config}', '--output_dir=out']
    output_dir = user_dir / 'out'
    random = np.random.default_rng(0)
    for _ in range(4):
        process = start_cli(args, cwd=user_dir)
        # Kill a few epochs into the run, at a random instant of an epoch.
        _wait_for_epochs(output_dir, _completed_epochs(output_dir) + 3,
                         process)
        time.sleep(random.uniform(0, 0.03))
        process.send_signal(signal.SIGKILL)
        process.communicate()
        assert 0 < _completed_epochs(output_dir) < 60
    result = run_cli(args, cwd=user_dir)
    assert result.returncode == 0, result.stderr
    steps = [r['step'] for r in read_metrics(output_dir)
             if r['name'] == 'episode/count']
    assert steps == list(range(60))
    # Every epoch's episodes reached the trainer exactly once.
    assert metric_values(output_dir, 'train/transitions_seen')[59] == (
        metric_values(output_dir, 'counters/env_steps')[59])
    checkpoints = os.listdir(output_dir / 'checkpoints')
    assert sorted(checkpoints) == ['epoch_000060', 'latest']


@pytest.mark.parametrize('stop_signal', [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_saves_and_exits_cleanly(user_dir, stop_signal):
    args = [f'--config_file={user_dir / "small.gin"}', '--output_dir=out',
            '--config=Runner.n_epochs=None']
    process = start_cli(args, cwd=user_dir)
    deadline = time.time() + 60
    while time.time() < deadline and not (
            run_directory.is_run_directory(user_dir / 'out') and
            'time/epoch_s' in metric_logging.read_series(user_dir / 'out')):
        time.sleep(0.1)
    process.send_signal(stop_signal)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert 're-run the same command to resume' in stderr
    assert 'Traceback' not in stderr
    latest = (user_dir / 'out' / 'checkpoints' / 'latest').read_text()
    assert latest.startswith('epoch_')


def _assert_clean_error(result, *fragments, code=2):
    assert result.returncode == code
    assert 'Traceback' not in result.stderr
    assert result.stderr.startswith('alpacka: error:')
    for fragment in fragments:
        assert fragment in result.stderr


def test_misspelt_binding_is_named_with_a_suggestion(user_dir):
    result = run_cli([f'--config_file={user_dir / "small.gin"}',
                      '--config=Runner.n_env=4', '--output_dir=out'],
                     cwd=user_dir)
    _assert_clean_error(result, "'n_env'", "Did you mean 'Runner.n_envs'?")
    result = run_cli([f'--config_file={user_dir / "small.gin"}',
                      '--config=Runner.agent_class=@alpacka.agents.RandomAgnt',
                      '--output_dir=out'], cwd=user_dir)
    _assert_clean_error(result, 'RandomAgnt',
                        "Did you mean 'alpacka.agents.RandomAgent'?")


def test_missing_config_file(tmp_path):
    result = run_cli([f'--config_file={tmp_path / "nope.gin"}',
                      f'--output_dir={tmp_path / "out"}'])
    _assert_clean_error(result, 'nope.gin', 'does not exist')


def test_unwritable_output_dir(tmp_path):
    blocker = write(tmp_path / 'a_file', 'not a directory')
    result = run_cli([f'--output_dir={blocker}/out'])
    _assert_clean_error(result, 'Cannot write to the output directory')


def test_network_signature_that_does_not_fit_env(user_dir):
    config = write(user_dir / 'mine.gin', """
import my_module
include 'small.gin'
Runner.agent_class = @my_module.MisfitAgent
""")
    result = run_cli([f'--config_file={config}', '--output_dir=out'],
                     cwd=user_dir)
    _assert_clean_error(result, 'MisfitAgent', '(3,)', '(4,)')


def test_nan_loss_stops_with_a_clear_message(user_dir):
    config = write(user_dir / 'mine.gin', """
import my_module
include 'small.gin'
Runner.trainer_class = @my_module.CountingTrainer
CountingTrainer.diverge_at_epoch = 2
""")
    result = run_cli([f'--config_file={config}', '--output_dir=out'],
                     cwd=user_dir)
    _assert_clean_error(result, 'epoch 1', 'train/loss is nan', code=1)
    # The checkpoint of the last good epoch is intact.
    latest = user_dir / 'out' / 'checkpoints' / 'latest'
    assert latest.read_text().strip() == 'epoch_000001'


@pytest.mark.parametrize('damaged_file', ['trainer.ckpt', 'runner.json'])
def test_corrupt_checkpoint_is_named_and_left_alone(user_dir, damaged_file):
    config = write(user_dir / 'mine.gin', """
import my_module
include 'small.gin'
Runner.trainer_class = @my_module.CountingTrainer
""")
    args = [f'--config_file={config}', '--output_dir=out']
    assert run_cli(args, cwd=user_dir).returncode == 0
    path = user_dir / 'out' / 'checkpoints' / 'epoch_000003' / damaged_file
    path.write_bytes(b'garbage')
    result = run_cli(args + ['--config=Runner.n_epochs=5'], cwd=user_dir)
    _assert_clean_error(result, str(path), code=1)
    assert path.read_bytes() == b'garbage'
    assert (user_dir / 'out' / 'checkpoints' / 'latest').read_text().strip(
    ) == 'epoch_000003'


def test_seed_reproduces_metrics(tmp_path):
    def metrics(name):
        output_dir = tmp_path / name
        result = run_cli([f'--config_file={QUICKSTART}',
                          '--config=Runner.episode_time_limit=30',
                          '--config=Runner.n_envs=2',
                          '--config=ShootingAgent.n_rollouts=4',
                          '--config=Runner.n_epochs=2',
                          '--config=Runner.seed=7',
                          f'--output_dir={output_dir}'])
        assert result.returncode == 0, result.stderr
        return [(r['step'], r['name'], r['value'])
                for r in read_metrics(output_dir)
                if not r['name'].startswith('time/')]

    first, second = metrics('a'), metrics('b')
    assert first == second
    assert any(name == 'agent/value_mean' for _, name, _ in first)


def test_quickstart_imports_neither_tensorflow_nor_ray(tmp_path):
    code = f"""
import sys
from alpacka.runner import cli
code = cli.main(['--config_file={QUICKSTART}', '--config=Runner.n_epochs=1',
                 '--config=Runner.episode_time_limit=5',
                 '--output_dir={tmp_path / 'out'}'])
assert code == 0
print('heavy:', sorted(m for m in ('tensorflow', 'keras', 'ray')
                       if m in sys.modules))
"""
    result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert 'heavy: []' in result.stdout


def test_piping_into_a_reader_that_quits_stops_quietly(user_dir):
    process = start_cli([f'--config_file={user_dir / "small.gin"}',
                         '--output_dir=out', '--config=Runner.n_epochs=None'],
                        cwd=user_dir)
    latest = user_dir / 'out' / 'checkpoints' / 'latest'
    _wait_for_epochs(user_dir / 'out', 1, process)
    process.stdout.readline()  # Like `| head`: read a line, then quit.
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert 'Traceback' not in stderr and 'BrokenPipe' not in stderr
    assert latest.exists()
