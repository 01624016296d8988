"""Helpers of the supervisor's tests: a small SAC run, and what it wrote."""

import json
import os
import subprocess
import sys

import numpy as np

from alpacka import metric_logging
from alpacka.runner import checkpointing
from alpacka.utils import pickle_files
from alpacka.utils import run_directory

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SAC_PENDULUM = os.path.join(REPO_ROOT, 'alpacka', 'configs', 'sac_pendulum.gin')

# sac_pendulum.gin, shrunk: 200-step epochs of one env, tiny networks,
# training from 50 transitions on, no evaluation.
SMALL_SAC = [
    'Runner.env_steps_per_epoch = 200', 'Runner.episode_time_limit = 200',
    'Runner.callback_classes = []',
    'SoftActorCriticAgent.n_random_steps = 20',
    'SoftActorCriticNetwork.hidden_sizes = (8,)',
    'SoftActorCriticTrainer.batch_size = 16',
    'SoftActorCriticTrainer.min_replay_size = 50',
    'SoftActorCriticTrainer.updates_per_step = 0.1']


def runner_args(output_dir, *bindings, config_files=(SAC_PENDULUM,)):
    """The runner's arguments for the small SAC run plus bindings."""
    return ([f'--config_file={path}' for path in config_files] +
            [f'--config={binding}' for binding in SMALL_SAC + list(bindings)]
            + [f'--output_dir={output_dir}'])


def python_env():
    """The environment of a child Python: this tree first on the path, no
    Ray cluster, TensorFlow quiet."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO_ROOT] + [path for path in env.get('PYTHONPATH', '').split(
            os.pathsep) if path])
    env.pop('RAY_ADDRESS', None)
    return env


def run_module(module, args, cwd, timeout=300, env=None):
    """python -m module args; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, '-m', module, *args], cwd=cwd,
        env=env or python_env(), capture_output=True, text=True,
        timeout=timeout, check=False)


def supervisor_records(output_dir):
    """The objects of <output_dir>/supervisor.jsonl."""
    with open(run_directory.supervisor_log_path(str(output_dir)),
              encoding='utf-8') as log_file:
        return [json.loads(line) for line in log_file]


def metric_values(output_dir, name):
    """{step: value} of one metric."""
    return metric_logging.read_series(str(output_dir), strict=True).get(
        name, {})


def check_replay_and_counters(output_dir, n_epochs, steps_per_epoch=200):
    """The last checkpoint's replay holds every step once, and the env-step
    counter is exact."""
    assert metric_values(output_dir, 'counters/env_steps') == {
        epoch: (epoch + 1) * steps_per_epoch for epoch in range(n_epochs)}
    latest = checkpointing.Checkpointer(str(output_dir)).latest()
    assert os.path.basename(latest) == f'epoch_{n_epochs:06d}'
    state = pickle_files.load_pickle(os.path.join(latest, 'trainer.ckpt'))
    replay = state['replay_buffer']
    assert replay['size'] == n_epochs * steps_per_epoch
    rows = np.concatenate([leaf.reshape(len(leaf), -1).astype(np.float64)
                           for leaf in replay['storage']], axis=1)
    # Continuous states and actions: a transition added twice is the only
    # way two rows could be equal.
    assert len(np.unique(rows, axis=0)) == len(rows)
