"""Helpers for the tests of specs and sweeps: small specs, subprocesses."""

import json
import os
import subprocess
import sys
import time

from alpacka import metric_logging
from alpacka.utils import run_directory

# A fast experiment: random actions, a few short episodes per epoch. The
# specs of the tests set Runner.n_epochs.
SMALL_GIN = """
Runner.env_class = @alpacka.envs.CartPole
Runner.agent_class = @alpacka.agents.RandomAgent
Runner.n_envs = 2
Runner.episode_time_limit = 20
"""

SPEC_TEMPLATE = """
from mrunner.helpers.specification_helper import create_experiments_helper

experiments_list = create_experiments_helper(
    experiment_name={name!r},
    base_config={base_config!r},
    params_grid={params_grid!r},
    script={script!r},
    python_path='',
    tags=[globals()['script'][:-3]],
    with_neptune={with_neptune!r},
    project_name={project!r},
    exclude=['.git'],
)
"""


def write(path, text):
    """Writes text to path and returns the path as a string."""
    with open(path, 'w', encoding='utf-8') as text_file:
        text_file.write(text)
    return str(path)


def write_spec(directory, base_config, params_grid, name='test-sweep',
               gin_file='small.gin', with_neptune=False, project=None,
               spec_name='spec.py'):
    """Writes small.gin and a spec file running it into directory.

    Returns:
        The spec's path.
    """
    write(os.path.join(directory, 'small.gin'), SMALL_GIN)
    script = (f'python3 -m alpacka.runner --mrunner --output_dir=./out '
              f'--config_file={gin_file}')
    return write(os.path.join(directory, spec_name), SPEC_TEMPLATE.format(
        name=name, base_config=base_config, params_grid=params_grid,
        script=script, with_neptune=with_neptune, project=project))


def _env(overrides=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    for name, value in (overrides or {}).items():
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    return env


def run_module(module, args, cwd, timeout=120, env=None):
    """Runs python -m module args in cwd (env: variables to set, or to unset
    where empty); returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, '-m', module, *args], cwd=cwd, env=_env(env),
        capture_output=True, text=True, timeout=timeout, check=False)


def start_module(module, args, cwd):
    """Starts python -m module args in the background; returns Popen."""
    return subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, '-m', module, *args], cwd=cwd, env=_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_status(output_dir):
    """The sweep_status.json of an experiment directory, or None."""
    try:
        with open(os.path.join(output_dir, run_directory.SWEEP_STATUS_FILE),
                  encoding='utf-8') as status_file:
            return json.load(status_file)
    except (OSError, ValueError):
        return None


def returns(output_dir):
    """{epoch: episode/return_mean} of an experiment directory."""
    return metric_logging.read_series(output_dir, strict=True).get(
        'episode/return_mean', {})


def wait_for(condition, timeout=60.0, interval=0.05):
    """Polls condition() until it is true; fails after timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f'timed out after {timeout} s waiting for {condition}')
