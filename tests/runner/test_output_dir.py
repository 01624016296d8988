"""A run's output directory: no config drift on resume, nothing written by a
run that fails to start (the CLI in-process, on real runs)."""

import glob
import hashlib
import os

import gin
import pytest

from alpacka.metric_logging import gin_params
from alpacka.runner import cli
from alpacka.runner import config_drift
from alpacka.runner import core
from alpacka.utils import gin_config
from alpacka.utils import run_directory
from tests.runner.cli_helpers import REPO_ROOT
from tests.runner.cli_helpers import main_in_process as main

# A run of two tiny epochs: CartPole, RandomAgent, DummyNetwork.
SMALL = ['--config=Runner.n_envs=2', '--config=Runner.episode_time_limit=10',
         '--config=Runner.n_epochs=2', '--config=Runner.seed=1']


def snapshot(directory):
    """{path relative to directory: sha256 of its bytes}, directories as
    None: the whole tree, mtimes aside."""
    tree = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            tree[os.path.relpath(os.path.join(root, name), directory)] = None
        for name in files:
            path = os.path.join(root, name)
            with open(path, 'rb') as tree_file:
                tree[os.path.relpath(path, directory)] = hashlib.sha256(
                    tree_file.read()).hexdigest()
    return tree


@pytest.fixture(name='finished_run')
def fixture_finished_run(tmp_path, capsys):
    """A finished run's directory, with a stale temp file a killed run left
    (a start that fails must not clean it up either)."""
    output_dir = tmp_path / 'run'
    assert main([f'--output_dir={output_dir}', *SMALL]) == 0
    with open(output_dir / '.metrics.jsonl.abc.tmp', 'w',
              encoding='utf-8') as stale:
        stale.write('half a line')
    capsys.readouterr()
    return output_dir


def test_same_command_resumes_silently(finished_run, capsys):
    before = snapshot(finished_run)
    assert main([f'--output_dir={finished_run}', *SMALL]) == 0
    err = capsys.readouterr().err
    assert 'All 2 epochs of this run are already done' in err
    assert 'error' not in err
    after = snapshot(finished_run)
    assert after[run_directory.CONFIG_FILE] == before[
        run_directory.CONFIG_FILE]
    assert run_directory.CONFIG_CHANGES_DIR not in after
    assert run_directory.RUN_LOCK_FILE not in after


def test_changed_bindings_are_refused_one_line_each(finished_run, capsys):
    before = snapshot(finished_run)
    code = main([f'--output_dir={finished_run}', *SMALL,
                 '--config=Runner.n_envs=4',
                 '--config=Runner.episode_time_limit=20'])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USER_ERROR
    assert 'Traceback' not in err
    assert '  Runner.n_envs: 2 in the run, 4 now\n' in err
    assert '  Runner.episode_time_limit: 10 in the run, 20 now\n' in err
    assert '--allow_config_change' in err
    assert err.count('alpacka: error:') == 1
    assert snapshot(finished_run) == before


@pytest.mark.parametrize('argv,expected_code', [
    # An invalid binding is a change of configuration too.
    (["--config=Runner.n_envs='abc'"], cli.EXIT_USER_ERROR),
    # Accepted, but the experiment does not build.
    (['--allow_config_change',
      "--config=Runner.env_kwargs={'no_such_parameter': 1}"], None),
    (['--config=Runner.n_envs=4'], cli.EXIT_USER_ERROR),
    (['--config_file=no_such_config.gin'], cli.EXIT_USER_ERROR),
], ids=['invalid_binding', 'invalid_binding_allowed', 'changed_binding',
        'missing_config_file'])
def test_failed_start_leaves_directory_byte_identical(
        finished_run, capsys, argv, expected_code):
    before = snapshot(finished_run)
    code = main([f'--output_dir={finished_run}', *SMALL, *argv])
    capsys.readouterr()
    if expected_code is None:
        assert code != 0
    else:
        assert code == expected_code
    assert snapshot(finished_run) == before


def test_accepted_change_is_recorded_beside_config(finished_run, capsys):
    before = snapshot(finished_run)
    assert main([f'--output_dir={finished_run}', *SMALL,
                 '--config=Runner.n_envs=4', '--config=Runner.n_epochs=3',
                 '--allow_config_change']) == 0
    assert 'Resuming from the checkpoint after epoch 2' in (
        capsys.readouterr().err)
    after = snapshot(finished_run)
    assert after[run_directory.CONFIG_FILE] == before[
        run_directory.CONFIG_FILE]
    changes_dir = run_directory.config_changes_dir(finished_run)
    [change] = os.listdir(changes_dir)
    assert change.startswith('1_') and change.endswith('.gin')
    with open(os.path.join(changes_dir, change), encoding='utf-8') as file:
        text = file.read()
    assert '#   Runner.n_envs: 2 in the run, 4 now' in text
    assert 'Runner.n_envs = 4' in text
    # The recorded bindings are a config Gin parses.
    gin.clear_config()
    gin.parse_config(text)

    # Resuming again under the accepted change still compares with
    # config.gin: it needs the flag again, and is recorded again.
    assert main([f'--output_dir={finished_run}', *SMALL,
                 '--config=Runner.n_envs=4', '--config=Runner.n_epochs=3']
                ) == cli.EXIT_USER_ERROR
    assert len(os.listdir(changes_dir)) == 1


def test_raising_n_epochs_resumes_without_the_flag(finished_run, capsys):
    assert main([f'--output_dir={finished_run}', *SMALL,
                 '--config=Runner.n_epochs=3']) == 0
    capsys.readouterr()
    [change] = os.listdir(run_directory.config_changes_dir(finished_run))
    with open(os.path.join(run_directory.config_changes_dir(finished_run),
                           change), encoding='utf-8') as change_file:
        assert 'Runner.n_epochs: 2 in the run, 3 now' in change_file.read()


def test_differences_compare_values_and_defaults():
    # Written differently, the same value.
    assert not config_drift.differences(
        {'KerasNetwork.learning_rate': 0.001},
        {'KerasNetwork.learning_rate': 1e-3})
    # Left out now: its default (Runner.n_envs defaults to 16).
    assert not config_drift.differences({'Runner.n_envs': 16}, {})
    found = config_drift.differences({'Runner.n_envs': 8}, {})
    assert [difference.describe() for difference in found] == [
        'Runner.n_envs: 8 in the run, 16 now']
    found = config_drift.differences(
        {'n': 3}, {'n': 3, 'Runner.env_class': '@alpacka.envs.Pendulum'})
    assert [difference.describe() for difference in found] == [
        'Runner.env_class: not set in the run, @alpacka.envs.Pendulum now']
    assert not found[0].resumable
    found = config_drift.differences({}, {'scope/Runner.n_epochs': 4})
    assert len(found) == 1 and found[0].resumable


@pytest.mark.parametrize('config', sorted(
    os.path.basename(path) for path in
    glob.glob(os.path.join(REPO_ROOT, 'alpacka', 'configs', '*.gin'))))
def test_shipped_configs_match_their_operative_config(config, tmp_path):
    """The same command on a shipped config's run finds no difference: its
    operative config (defaults included) against its parsed bindings."""
    cli.parse_gin([os.path.join(REPO_ROOT, 'alpacka', 'configs', config)], [])
    runner = core.Runner(str(tmp_path))
    try:
        operative = gin_config.operative_config_text()
    finally:
        runner.close()
    found = config_drift.differences(gin_params.parse_bindings(operative),
                                     gin_params.current_bindings())
    assert [difference.describe() for difference in found] == []
