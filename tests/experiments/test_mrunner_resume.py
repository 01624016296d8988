"""--mrunner re-runs: the spec's parameters are bindings like any other, so a
changed spec does not silently resume a run made with the old one."""

import os

from experiments_helpers import write_spec

from alpacka.runner import cli
from alpacka.utils import run_directory
from tests.runner.cli_helpers import main_in_process as _main


def test_a_changed_spec_is_refused_and_the_run_left_as_it_was(tmp_path,
                                                              capsys):
    output_dir = tmp_path / 'run'
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1, 'Runner.seed': 5}, {},
                      gin_file=str(tmp_path / 'small.gin'))
    assert _main(['--mrunner', f'--config={spec}',
                  f'--output_dir={output_dir}']) == 0
    with open(run_directory.config_path(output_dir), 'rb') as config_file:
        config = config_file.read()
    changed = write_spec(tmp_path, {'Runner.n_epochs': 1, 'Runner.seed': 6},
                         {}, gin_file=str(tmp_path / 'small.gin'))
    capsys.readouterr()
    assert _main(['--mrunner', f'--config={changed}',
                  f'--output_dir={output_dir}']) == cli.EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert '  Runner.seed: 5 in the run, 6 now\n' in err
    assert 'Traceback' not in err
    with open(run_directory.config_path(output_dir), 'rb') as config_file:
        assert config_file.read() == config
    assert not os.path.exists(run_directory.config_changes_dir(output_dir))
