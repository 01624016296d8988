"""python3 -m alpacka.runner --mrunner, and the logger flags of the CLI."""

import cloudpickle
from experiments_helpers import returns, run_module, write_spec

from alpacka.runner import cli


def test_mrunner_runs_the_first_experiment_and_explicit_configs_win(
        tmp_path):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 2, 'Runner.n_envs': 2,
                                 'RandomAgent.parameter_schedules': {}},
                      {'Runner.seed': [7, 8], 'Runner.episode_time_limit': 9})
    result = run_module('alpacka.runner', [
        '--mrunner', '--output_dir=out', '--config_file=small.gin',
        '--config=Runner.n_envs=3', f'--config={spec}'], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'holds 2 experiments; running only the first' in result.stderr
    config = (tmp_path / 'out' / 'config.gin').read_text()
    assert 'Runner.seed = 7' in config
    assert 'Runner.episode_time_limit = 9' in config
    assert 'RandomAgent.parameter_schedules = {}' in config
    # The explicit --config overrides the spec's Runner.n_envs = 2.
    assert 'Runner.n_envs = 3' in config
    assert set(returns(tmp_path / 'out')) == {0, 1}


def test_mrunner_with_a_pickled_spec(tmp_path):
    write_spec(tmp_path, {}, {})  # For small.gin.
    (tmp_path / 'config.pkl').write_bytes(cloudpickle.dumps({
        'name': 'pickled', 'project': None, 'tags': [], 'env': {},
        'parameters': {'Runner.n_epochs': 1, 'Runner.seed': 11}}))
    result = run_module('alpacka.runner', [
        '--mrunner', '--output_dir=out', '--config_file=small.gin',
        '--config=config.pkl'], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'running the experiment pickled' in result.stderr
    config = (tmp_path / 'out' / 'config.gin').read_text()
    assert 'Runner.seed = 11' in config
    assert set(returns(tmp_path / 'out')) == {0}


def test_mrunner_without_a_spec_or_with_a_wrong_binding(tmp_path):
    spec = write_spec(tmp_path, {'Runner.n_epochz': 1}, {})
    result = run_module('alpacka.runner', [
        '--mrunner', '--output_dir=out', '--config_file=small.gin',
        f'--config={spec}'], cwd=tmp_path)
    assert result.returncode == 2
    assert "Did you mean 'Runner.n_epochs'?" in result.stderr
    assert 'Traceback' not in result.stderr
    result = run_module('alpacka.runner', [
        '--mrunner', '--output_dir=out', '--config_file=small.gin'],
        cwd=tmp_path)
    assert result.returncode == 2
    assert 'last --config value' in result.stderr


def _parse(argv):
    return cli.parse_args(['--output_dir=out', *argv])


def test_logger_flags_and_spec_reach_setup_loggers(monkeypatch, tmp_path):
    calls = []

    def setup_loggers(output_dir, **kwargs):
        calls.append((output_dir, kwargs))
        return ['a logger']

    monkeypatch.setattr(cli.metric_logging, 'setup_loggers', setup_loggers)
    monkeypatch.setenv('NEPTUNE_PROJECT', 'team/from-env')

    assert not cli.setup_extra_loggers(_parse([]), str(tmp_path))
    assert not calls

    assert cli.setup_extra_loggers(_parse(['--tensorboard']),
                                   str(tmp_path)) == ['a logger']
    assert calls[-1][0] == str(tmp_path)
    assert calls[-1][1]['tensorboard'] and not calls[-1][1]['neptune']

    spec = write_spec(tmp_path, {'Runner.seed': 1}, {}, with_neptune=True,
                      project='team/from-spec')
    run, _ = cli.load_mrunner_spec([spec])
    cli.setup_extra_loggers(_parse(['--mrunner']), str(tmp_path), run)
    kwargs = calls[-1][1]
    assert kwargs['neptune'] and not kwargs['tensorboard']
    assert kwargs['neptune_project'] == 'team/from-spec'
    assert kwargs['run_name'] == 'test-sweep'
    assert kwargs['tags'] == ['spec']

    cli.setup_extra_loggers(_parse(['--neptune']), str(tmp_path))
    assert calls[-1][1]['neptune_project'] == 'team/from-env'


def test_neptune_without_a_token_runs_on_with_a_hint(tmp_path):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1}, {}, with_neptune=True)
    env_overrides = {'NEPTUNE_API_TOKEN': '', 'NEPTUNE_MODE': ''}
    result = run_module('alpacka.runner', [
        '--mrunner', '--output_dir=out', '--config_file=small.gin',
        f'--config={spec}'], cwd=tmp_path, env=env_overrides)
    assert result.returncode == 0, result.stderr
    assert 'Traceback' not in result.stderr
    assert set(returns(tmp_path / 'out')) == {0}
