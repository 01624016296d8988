"""A lost Ray node: the raylet of a run's own Ray instance killed for real.

Ray then ends the driver from C++ (see alpacka.runner.ray_health); the run
must still say in one paragraph what happened and how to resume, exit with
code 1, keep its checkpoint, and leave no Ray process behind.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import gin
import psutil
import pytest

from cli_helpers import REPO_ROOT, metric_values
from process_helpers import pid_alive

from alpacka import runner as runner_lib
from alpacka.runner import ray_health

# A run without TensorFlow (it starts in seconds) that runs until stopped.
RUN_ON_RAY = [
    'Runner.env_class = @alpacka.envs.CartPole',
    'Runner.agent_class = @alpacka.agents.RandomAgent',
    'Runner.n_envs = 2', 'Runner.episode_time_limit = 20',
    'Runner.n_epochs = None',
    'Runner.batch_stepper_class = @alpacka.batch_steppers.RayBatchStepper',
    'RayBatchStepper.n_workers = 1']


def _running(process):
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _alive(processes):
    return [process for process in processes if _running(process)]


def _end(processes):
    """Waits a little for processes to end by themselves, then kills them;
    returns those that were still running."""
    deadline = time.monotonic() + 30
    while _alive(processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftovers = _alive(processes)
    for process in leftovers:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    return leftovers


def _kill_run(process):
    """Kills the run and the Ray processes it started."""
    family = []
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        pass
    process.kill()
    process.wait()
    for child in family:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def _start_run(command, env, tmp_path, latest):
    """Starts the run and waits for its first checkpoint; returns the Popen.

    Ray gives its raylet 30 s to register (a constant of ray._private.node),
    and init_ray tries twice: on a machine loaded by other runs, a run that
    could not start Ray is started once more.
    """
    for attempt in range(2):
        with open(tmp_path / 'stdout', 'w', encoding='utf-8') as stdout, \
                open(tmp_path / 'stderr', 'w', encoding='utf-8') as stderr:
            process = subprocess.Popen(  # pylint: disable=consider-using-with
                command, cwd=REPO_ROOT, env=env, stdout=stdout, stderr=stderr)
        try:
            deadline = time.monotonic() + 140
            while not latest.exists() and process.poll() is None:
                assert time.monotonic() < deadline, 'no checkpoint in 140 s'
                time.sleep(0.2)
        except BaseException:  # Also pytest-timeout's: leave no run behind.
            _kill_run(process)
            raise
        if process.poll() is None:
            return process
        stderr = (tmp_path / 'stderr').read_text()
        assert attempt == 0 and 'timed out during startup' in stderr, stderr
    raise AssertionError('unreachable')


def _of_instance(ray_temp_dir):
    """The processes of the Ray instance whose files are in ray_temp_dir
    (each names its session directory on its command line)."""
    found = []
    for process in psutil.process_iter():
        try:
            if any(ray_temp_dir in arg for arg in process.cmdline()):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture(name='ray_temp_dir')
def fixture_ray_temp_dir():
    """A short directory for Ray's files (its socket paths must stay
    short: see tests/conftest.py), removed afterwards with any process of
    its instance that a failed test left running."""
    path = tempfile.mkdtemp(prefix='rl', dir='/tmp')
    yield path
    for process in _alive(_of_instance(path)):
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    shutil.rmtree(path, ignore_errors=True)


def test_a_killed_raylet_is_reported_and_the_checkpoint_resumes(
        tmp_path, ray_temp_dir):
    output_dir = tmp_path / 'out'
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', RAY_TMPDIR=ray_temp_dir)
    env.pop('RAY_ADDRESS', None)
    command = [sys.executable, '-m', 'alpacka.runner',
               f'--output_dir={output_dir}',
               *(f'--config={binding}' for binding in RUN_ON_RAY)]
    latest = output_dir / 'checkpoints' / 'latest'
    descendants = []
    process = _start_run(command, env, tmp_path, latest)
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
        raylets = [child for child in descendants if child.name() == 'raylet']
        assert len(raylets) == 1
        raylets[0].send_signal(signal.SIGKILL)
        assert process.wait(timeout=120) == 1
    finally:
        if process.poll() is None:
            _kill_run(process)
        leftovers = _end(descendants + _of_instance(ray_temp_dir))
    assert not leftovers, f'Ray processes left running: {leftovers}'

    epoch = int(latest.read_text().strip()[len('epoch_'):])
    assert epoch >= 1
    paragraphs = [line for line in (tmp_path / 'stderr').read_text(
        ).splitlines() if line.startswith('alpacka: error:')]
    assert len(paragraphs) == 1
    paragraph = paragraphs[0]
    assert f'raylet (process {raylets[0].pid}) died' in paragraph
    assert 'The Ray node' in paragraph and 'was lost' in paragraph
    assert (f'The checkpoint after epoch {epoch} in '
            f'{output_dir / "checkpoints"} is intact: re-run the same '
            f'command to resume from epoch {epoch}.') in paragraph
    assert 'python3 -m alpacka.supervise' in paragraph
    assert paragraph.endswith(
        f'The details are in {output_dir / "error.log"}.')
    # Whether Ray ended the driver (the watcher wrote the paragraph) or an
    # exception reached the CLI first (it wrote it, with the traceback).
    assert paragraph.split(':')[2].strip() in (
        output_dir / 'error.log').read_text()

    # The checkpoint is whole: a Runner on the directory resumes from it,
    # with the counters of the epochs it holds.
    assert metric_values(output_dir, 'counters/episodes')[epoch - 1] == (
        2 * epoch)
    gin.parse_config(RUN_ON_RAY[:-2])
    resumed = runner_lib.Runner(str(output_dir))
    try:
        assert resumed.epoch == epoch
    finally:
        resumed.close()


def _ends(pid, timeout_s=30):
    """Whether the process ends within timeout_s (it may be closing)."""
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pid_alive(pid)


def test_errors_raised_from_ray_errors_are_told_apart():
    from ray import exceptions  # pylint: disable=import-outside-toplevel
    try:
        try:
            raise exceptions.RaySystemError('the raylet is gone')
        except exceptions.RayError as error:
            raise RuntimeError('worker 0 died, and its replacement') from error
    except RuntimeError as error:
        assert ray_health.raised_by_ray(error)
    assert not ray_health.raised_by_ray(ValueError('not Ray'))


def test_the_watcher_of_a_run_without_ray_ends_with_it(tmp_path):
    watch = ray_health.NodeWatch(str(tmp_path))
    assert pid_alive(watch.watcher_pid)
    assert watch.lost_node() is None
    pid = watch.watcher_pid
    watch.close()
    assert _ends(pid)


def test_a_vanished_driver_without_ray_leaves_no_word_and_no_watcher(
        tmp_path):
    # A driver killed outright (here: os._exit) that used no Ray.
    code = ('import os, sys; from alpacka.runner import ray_health; '
            f'watch = ray_health.NodeWatch({str(tmp_path)!r}); '
            'print(watch.watcher_pid, flush=True); os._exit(1)')
    result = subprocess.run(
        [sys.executable, '-c', code], cwd=REPO_ROOT, capture_output=True,
        text=True, timeout=120, check=False)
    assert result.returncode == 1
    # run() returned: the watcher, which shares stderr, has closed it.
    assert result.stderr == ''
    assert _ends(int(result.stdout))
    assert os.listdir(tmp_path) == []
