"""Failures while a run is built or runs: one paragraph, error.log, resume.

Run-time failures are real: an env raising in step, a Ray worker killed by
SIGKILL, a loss that diverges under gradient descent, and checkpoint and
metrics writes refused by a file-size limit (RLIMIT_FSIZE, as a full disk
refuses them).
"""

import os
import resource
import signal
import subprocess
import sys

import pytest

from cli_helpers import (QUICKSTART, REPO_ROOT, SMALL_CONFIG, main_in_process,
                         read_metrics, write)

from alpacka import metric_logging
from alpacka.runner import cli

# A user's module, imported by the tests' .gin files.
FAILING_MODULE = '''
import os
import signal

import gin

import alpacka


def _count(path):
    """Appends one byte to path and returns its new size."""
    with open(path, 'ab') as counter:
        counter.write(b'.')
    return os.path.getsize(path)


@gin.configurable
class FailingEnv(alpacka.envs.CartPole):
    """Fails in step once more than fail_after_resets resets were counted.

    mode='raise' raises once (a marker file remembers it), so a re-run
    succeeds; mode='kill' SIGKILLs its own process max_kills times (a Ray
    worker, then its replacement).
    """

    def __init__(self, counter_path, fail_after_resets, mode='raise',
                 max_kills=2):
        super().__init__()
        self._counter_path = counter_path
        self._fail_after_resets = fail_after_resets
        self._mode = mode
        self._max_kills = max_kills
        self._armed = False

    def reset(self, **kwargs):
        self._armed = _count(self._counter_path) > self._fail_after_resets
        return super().reset(**kwargs)

    def step(self, action):
        if self._armed:
            marker = self._counter_path + '.' + self._mode
            if self._mode == 'raise' and not os.path.exists(marker):
                open(marker, 'w').close()
                raise RuntimeError('the simulator lost contact')
            if self._mode == 'kill' and (not os.path.exists(marker) or
                                         os.path.getsize(marker) <
                                         self._max_kills):
                _count(marker)
                os.kill(os.getpid(), signal.SIGKILL)
        return super().step(action)


@gin.configurable
class GradientDescentTrainer(alpacka.trainers.Trainer):
    """Minimises x*x by gradient descent; a step size over 1 diverges."""

    def __init__(self, network_signature, step_size=0.1, steps_per_epoch=100):
        super().__init__(network_signature)
        self._x = 1.0
        self._step_size = step_size
        self._steps_per_epoch = steps_per_epoch

    def add_episode(self, episode):
        del episode

    def train_epoch(self, network):
        for _ in range(self._steps_per_epoch):
            self._x -= self._step_size * 2 * self._x
        return {'loss': self._x * self._x}

    def state_dict(self):
        return {'x': self._x}

    def load_state_dict(self, state):
        self._x = state['x']


@gin.configurable
class GrowingTrainer(alpacka.trainers.Trainer):
    """Its checkpoint grows by bytes_per_epoch every epoch."""

    def __init__(self, network_signature, bytes_per_epoch=40_000):
        super().__init__(network_signature)
        self._bytes_per_epoch = bytes_per_epoch
        self._epochs = 0

    def add_episode(self, episode):
        del episode

    def train_epoch(self, network):
        self._epochs += 1
        return {'epochs': float(self._epochs)}

    def state_dict(self):
        return {'epochs': self._epochs,
                'blob': os.urandom(self._bytes_per_epoch * self._epochs)}

    def load_state_dict(self, state):
        self._epochs = state['epochs']
'''


@pytest.fixture(name='user_dir')
def fixture_user_dir(tmp_path):
    """A directory with the failing module and the small config."""
    write(tmp_path / 'failing_module.py', FAILING_MODULE)
    write(tmp_path / 'small.gin', SMALL_CONFIG)
    return tmp_path


def _limit_file_size(max_bytes):
    """A preexec_fn: writes beyond max_bytes fail with EFBIG, as on a full
    disk (SIGXFSZ ignored, so the write raises instead of killing)."""
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return preexec


def _run(args, cwd, max_file_size=None, timeout=180):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    return subprocess.run(
        [sys.executable, '-m', 'alpacka.runner', *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=timeout, check=False,
        preexec_fn=(_limit_file_size(max_file_size)
                    if max_file_size else None))


def _run_until_it_fails(user_dir, config_args, max_file_size=None):
    """Runs on <user_dir>/out, expecting exit code 1.

    Returns:
        (the arguments, for a re-run), the stderr, the output directory.
    """
    args = [*config_args, '--output_dir=out']
    result = _run(args, cwd=user_dir, max_file_size=max_file_size)
    assert result.returncode == 1, result.stderr
    return args, result.stderr, user_dir / 'out'


def _assert_one_paragraph(stderr, *fragments, resuming=False):
    """stderr is one 'alpacka: error:' line (after the resume notice) and
    holds every fragment."""
    lines = stderr.strip().splitlines()
    if resuming:
        assert lines[0].startswith('Resuming from the checkpoint'), stderr
        lines = lines[1:]
    assert len(lines) == 1, stderr
    assert lines[0].startswith('alpacka: error: '), stderr
    assert 'Traceback' not in stderr
    for fragment in fragments:
        assert fragment in lines[0], stderr


def _latest(output_dir):
    return (output_dir / 'checkpoints' / 'latest').read_text().strip()


def _assert_error_log(output_dir, *fragments):
    text = (output_dir / 'error.log').read_text()
    assert text.startswith('Traceback (most recent call last):'), text
    for fragment in fragments:
        assert fragment in text, text


# --- Build errors: one paragraph, exit code 2. In-process, to stay fast. ---

@pytest.mark.parametrize('config, fragments', [
    # Refused by the declared validation before anything is built.
    (['Runner.n_envs=0'], ['Runner.n_envs = 0 is not allowed', 'int >= 1']),
    (["Runner.n_envs='abc'"], ["Runner.n_envs = 'abc' is not allowed"]),
    # Any other exception while building: the component and its message.
    (["Runner.env_kwargs={'no_such_parameter': 1}"],
     ['Building CartPole', 'TypeError', 'no_such_parameter']),
    (['Runner.env_class=@alpacka.envs.GymEnv',
      "GymEnv.env_id='NoSuchEnv-v0'"],
     ["GymEnv.env_id = 'NoSuchEnv-v0'", "doesn't exist"]),
    (['Runner.env_class=@alpacka.envs.GymEnv',
      "GymEnv.env_id='CartPol-v1'"], ['Did you mean']),
    (['Runner.n_envs = (', 'Runner.n_epochs = 1'],
     ["A '(' is opened but never closed", 'a --config binding, line 1, '
      "column 17: 'Runner.n_envs = ('"]),
    (["Runner.seed = '''7"], ['A string is opened but never closed']),
])
def test_build_errors_are_one_paragraph(tmp_path, capsys, config, fragments):
    loggers_before = metric_logging.registered_loggers()
    code = cli.main([f'--config_file={QUICKSTART}', f'--output_dir={tmp_path}',
                     *(f'--config={binding}' for binding in config)])
    assert code == cli.EXIT_USER_ERROR
    _assert_one_paragraph(capsys.readouterr().err, *fragments)
    assert not (tmp_path / 'error.log').exists()
    # Nor a logger of the Runner that failed to build left registered.
    assert metric_logging.registered_loggers() == loggers_before


def test_unclosed_bracket_in_a_file_names_file_line_and_column(tmp_path,
                                                                capsys):
    config = write(tmp_path / 'broken.gin',
                   'Runner.n_envs = 2\nRunner.callback_classes = [\n')
    code = cli.main([f'--config_file={config}',
                     f'--output_dir={tmp_path / "out"}'])
    assert code == cli.EXIT_USER_ERROR
    _assert_one_paragraph(
        capsys.readouterr().err, "A '[' is opened but never closed",
        f"In {config}, line 2, column 27: 'Runner.callback_classes = ['")


def test_directory_as_config_file_is_called_a_directory(tmp_path, capsys):
    code = cli.main([f'--config_file={tmp_path}',
                     f'--output_dir={tmp_path / "out"}'])
    assert code == cli.EXIT_USER_ERROR
    _assert_one_paragraph(capsys.readouterr().err,
                          f'Config file {tmp_path} is a directory')


def test_build_error_from_the_command_line_shows_no_traceback(tmp_path):
    unknown_kwarg = "--config=Runner.env_kwargs={'no_such_parameter': 1}"
    result = _run([f'--config_file={QUICKSTART}', unknown_kwarg,
                   f'--output_dir={tmp_path / "out"}'], cwd=REPO_ROOT)
    assert result.returncode == 2
    _assert_one_paragraph(result.stderr, 'Building CartPole',
                          'no_such_parameter')
    result = _run([f'--config_file={QUICKSTART}', unknown_kwarg,
                   '--debug', f'--output_dir={tmp_path / "out"}'],
                  cwd=REPO_ROOT)
    assert result.returncode == 2
    assert 'Traceback' in result.stderr


# --- Failures during a run: one paragraph, error.log, exit 1, resume. ---

def _failing_env_config(user_dir, **env_bindings):
    bindings = '\n'.join(f'FailingEnv.{name} = {value!r}'
                         for name, value in env_bindings.items())
    return write(user_dir / 'failing.gin', f"""
import failing_module
include 'small.gin'
Runner.env_class = @failing_module.FailingEnv
Runner.n_epochs = 4
FailingEnv.counter_path = '{user_dir / "resets"}'
{bindings}
""")


def test_env_raising_in_step(user_dir):
    # 2 envs: resets 5 and 6 happen in epoch 2.
    config = _failing_env_config(user_dir, fail_after_resets=4)
    args, stderr, output_dir = _run_until_it_fails(
        user_dir, [f'--config_file={config}'])
    _assert_one_paragraph(
        stderr,
        'Gathering episodes (LocalBatchStepper stepping FailingEnv with '
        'RandomAgent) failed in epoch 2: RuntimeError: the simulator lost '
        'contact.',
        'The checkpoint after epoch 2 is intact: re-run the same command to '
        'resume from epoch 2.',
        f'The full traceback is in {output_dir / "error.log"}.')
    _assert_error_log(output_dir, 'in step', 'RuntimeError: the simulator '
                      'lost contact', 'RunFailure')
    assert _latest(output_dir) == 'epoch_000002'

    result = _run(args, cwd=user_dir)
    assert result.returncode == 0, result.stderr
    assert 'Resuming from the checkpoint after epoch 2' in result.stderr
    assert _latest(output_dir) == 'epoch_000004'
    assert {record['step'] for record in read_metrics(output_dir)} == {
        0, 1, 2, 3}


def test_ray_worker_killed_and_its_replacement_too(ray_cluster, user_dir,
                                                   monkeypatch, capsys):
    # The killed processes are Ray workers: the driver is cli.main in this
    # process, on the session's Ray (a subprocess would start a Ray of its
    # own, twice).
    del ray_cluster
    monkeypatch.chdir(user_dir)
    monkeypatch.syspath_prepend(str(user_dir))  # Workers import the module.
    config = _failing_env_config(user_dir, fail_after_resets=2, mode='kill')
    write(user_dir / 'ray.gin', f"""
include '{config}'
Runner.batch_stepper_class = @alpacka.batch_steppers.RayBatchStepper
RayBatchStepper.n_workers = 1
""")
    args = ['--config_file=ray.gin', '--output_dir=out']
    output_dir = user_dir / 'out'
    assert main_in_process(args) == 1
    stderr = capsys.readouterr().err
    paragraph = [line for line in stderr.splitlines()
                 if line.startswith('alpacka: error:')]
    assert len(paragraph) == 1, stderr
    for fragment in ('Gathering episodes (RayBatchStepper', 'failed in epoch '
                     '1:', 'RayBatchStepper worker 0 (envs 0 to 1) died, and '
                     'so did its replacement', 'resume from epoch 1.',
                     'error.log'):
        assert fragment in paragraph[0], stderr
    assert 'Traceback' not in stderr
    _assert_error_log(output_dir, 'ActorDiedError')
    assert _latest(output_dir) == 'epoch_000001'

    assert main_in_process(args) == 0, capsys.readouterr().err
    assert _latest(output_dir) == 'epoch_000004'


def test_diverging_loss(user_dir):
    # x <- x - 1.5 * 2x = -2x: x*x grows 4**100 times per epoch and
    # overflows to inf (past 4**512) in epoch 5.
    config = write(user_dir / 'diverging.gin', """
import failing_module
include 'small.gin'
Runner.trainer_class = @failing_module.GradientDescentTrainer
GradientDescentTrainer.step_size = 1.5
Runner.n_epochs = 6
""")
    args, stderr, output_dir = _run_until_it_fails(
        user_dir, [f'--config_file={config}'])
    _assert_one_paragraph(
        stderr,
        'Training (GradientDescentTrainer on DummyNetwork) failed in epoch '
        '5: training diverged: train/loss is inf. Lower the learning rate',
        'resume from epoch 5.', 'error.log')
    _assert_error_log(output_dir, 'FloatingPointError')
    assert _latest(output_dir) == 'epoch_000005'
    # The checkpoint loads: the re-run resumes from it (and diverges again).
    result = _run(args, cwd=user_dir)
    assert result.returncode == 1
    _assert_one_paragraph(result.stderr, 'failed in epoch 5', resuming=True)


def test_checkpoint_write_refused_by_a_full_disk(user_dir):
    # Trainer checkpoints of 40, 80, 120 kB: the third passes the limit.
    config = write(user_dir / 'growing.gin', """
import failing_module
include 'small.gin'
Runner.trainer_class = @failing_module.GrowingTrainer
Runner.n_epochs = 4
""")
    args, stderr, output_dir = _run_until_it_fails(
        user_dir, [f'--config_file={config}'], max_file_size=100_000)
    _assert_one_paragraph(
        stderr,
        'Writing a checkpoint failed in epoch 2: writing the checkpoint '
        'epoch_000003', 'File too large', 'it was not kept.',
        'The checkpoint after epoch 2 is intact: re-run the same command to '
        'resume from epoch 2.', 'error.log')
    _assert_error_log(output_dir, 'CheckpointWriteError', 'File too large')
    assert _latest(output_dir) == 'epoch_000002'
    assert sorted(os.listdir(output_dir / 'checkpoints')) == [
        'epoch_000002', 'latest']

    result = _run(args, cwd=user_dir)
    assert result.returncode == 0, result.stderr
    assert 'Resuming from the checkpoint after epoch 2' in result.stderr
    assert _latest(output_dir) == 'epoch_000004'


def test_metrics_write_refused_by_a_full_disk(user_dir):
    args, stderr, output_dir = _run_until_it_fails(
        user_dir, [f'--config_file={user_dir / "small.gin"}',
                   '--config=Runner.n_epochs=6'], max_file_size=4_000)
    _assert_one_paragraph(
        stderr, 'Logging metrics failed in epoch',
        f'writing {output_dir / "metrics.jsonl"} failed (File too large)',
        'is intact: re-run the same command to resume from epoch',
        'error.log')
    _assert_error_log(output_dir, 'MetricsWriteError')
    saved = int(_latest(output_dir).split('_')[1])
    assert f'resume from epoch {saved}.' in stderr

    result = _run(args, cwd=user_dir)
    assert result.returncode == 0, result.stderr
    assert f'Resuming from the checkpoint after epoch {saved}' in (
        result.stderr)
    steps = [record['step'] for record in read_metrics(output_dir)]
    assert sorted(set(steps)) == [0, 1, 2, 3, 4, 5]
