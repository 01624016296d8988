"""Helpers to run the command line in a subprocess and read what it wrote."""

import os
import signal
import subprocess
import sys

import gin

from alpacka import metric_logging
from alpacka.runner import cli
from alpacka.utils import run_directory

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
QUICKSTART = os.path.join(REPO_ROOT, 'alpacka', 'configs',
                          'shooting_random_cartpole.gin')

# A small, fast experiment used by most CLI tests.
SMALL_CONFIG = """
Runner.env_class = @alpacka.envs.CartPole
Runner.agent_class = @alpacka.agents.RandomAgent
Runner.n_envs = 2
Runner.episode_time_limit = 20
Runner.n_epochs = 3
"""


def run_cli(args, cwd=None, timeout=120):
    """Runs python -m alpacka.runner with args; returns CompletedProcess."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    return subprocess.run(
        [sys.executable, '-m', 'alpacka.runner', *args], cwd=cwd or REPO_ROOT,
        env=env, capture_output=True, text=True, timeout=timeout, check=False)


def main_in_process(args):
    """cli.main(args) in this process, from an empty Gin config (faster than
    run_cli where a test starts many runs); returns the exit code."""
    gin.clear_config()
    try:
        return cli.main([str(arg) for arg in args])
    finally:
        gin.clear_config()


def _default_sigint():
    # A suite started as a background job inherits SIGINT ignored, and
    # Python then leaves it ignored: the run could not be interrupted.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(args, cwd=None):
    """Starts python -m alpacka.runner in the background; returns Popen.

    The run gets SIGINT's default disposition, as from a terminal, whatever
    the test process inherited.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    # preexec_fn: the fork happens before the child starts any thread.
    return subprocess.Popen(  # pylint: disable=consider-using-with,subprocess-popen-preexec-fn
        [sys.executable, '-m', 'alpacka.runner', *args], cwd=cwd or REPO_ROOT,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_default_sigint)


def read_metrics(output_dir):
    """Records of <output_dir>/metrics.jsonl (every line must be JSON)."""
    return metric_logging.read_metrics(run_directory.metrics_path(output_dir),
                                       strict=True)


def metric_values(output_dir, name):
    """{step: value} of one metric."""
    return metric_logging.read_series(output_dir, strict=True).get(name, {})


def write(path, text):
    """Writes text to path and returns path."""
    with open(path, 'w', encoding='utf-8') as text_file:
        text_file.write(text)
    return str(path)
