"""The issue's cases on the quickstart command, as a user runs them: real
processes of ``python3 -m alpacka.runner``."""

import os
import subprocess
import sys

import pytest
from walk_cases import snapshot

from alpacka.utils import run_directory

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
_QUICKSTART = os.path.join(_REPO_ROOT, 'alpacka', 'configs',
                           'shooting_random_cartpole.gin')

_CASES = {
    'Runner.n_envs=0': 'Runner.n_envs = 0 is not allowed: it must be an int '
                       '>= 1.',
    "Runner.n_envs='abc'": "Runner.n_envs = 'abc' is not allowed: it must be "
                           "an int >= 1.",
    'Runner.episode_time_limit=-5': 'Runner.episode_time_limit = -5 is not '
                                    'allowed: it must be an int >= 1, or None.',
    'KerasNetwork.learning_rate=-0.1': 'KerasNetwork.learning_rate = -0.1 is '
                                       'not allowed: it must be a number >= '
                                       '0, or None.',
    'Runner.n_epochs=-1': 'Runner.n_epochs = -1 is not allowed: it must be an '
                          'int >= 0, or None.',
}


def _environment():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3',
                PYTHONPATH=os.pathsep.join(
                    [_REPO_ROOT, os.environ.get('PYTHONPATH', '')]))


def _existing_output_dir(path):
    path.mkdir()
    (path / 'notes.txt').write_text('kept as it was\n')
    (path / run_directory.METRICS_FILE).write_text(
        '{"name": "episode/return_mean", "step": 0, "value": 1.0}\n')
    return path


def test_the_issue_cases_get_one_paragraph(tmp_path):
    # One directory per process: they run side by side.
    output_dirs = {binding: _existing_output_dir(tmp_path / f'out{index}')
                   for index, binding in enumerate(_CASES)}
    before = snapshot(str(output_dirs[next(iter(_CASES))]))
    processes = {binding: subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, '-m', 'alpacka.runner',
         f'--config_file={_QUICKSTART}', f'--config={binding}',
         f'--output_dir={output_dirs[binding]}'],
        cwd=_REPO_ROOT, env=_environment(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for binding in _CASES}
    for binding, process in processes.items():
        _, err = process.communicate(timeout=120)
        assert process.returncode == 2, err
        assert err == f'alpacka: error: {_CASES[binding]}\n'
        assert snapshot(str(output_dirs[binding])) == before


_RAY_DRIVER = """
import sys
from alpacka.runner import cli
code = cli.main(sys.argv[1:])
print('ray imported' if 'ray' in sys.modules else 'ray not imported')
sys.exit(code)
"""


@pytest.mark.parametrize('binding', [
    'alpacka.agents.ShootingAgent.n_rollouts=0',
    # The rollout agent is built only inside the workers, during episodes.
    'alpacka.agents.RandomAgent.parameter_schedules=3'])
def test_a_binding_used_in_ray_workers_is_refused_before_they_start(
        tmp_path, binding):
    result = subprocess.run(
        [sys.executable, '-c', _RAY_DRIVER, f'--config_file={_QUICKSTART}',
         '--config=Runner.batch_stepper_class='
         '@alpacka.batch_steppers.RayBatchStepper',
         f'--config={binding}', f'--output_dir={tmp_path}'],
        cwd=_REPO_ROOT, env=_environment(), capture_output=True, text=True,
        timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    name, _ = binding.rsplit('=', 1)
    assert result.stderr.startswith(
        f'alpacka: error: {name.split(".", 2)[2]} = ')
    assert 'Traceback' not in result.stderr
    assert result.stdout.strip() == 'ray not imported'
