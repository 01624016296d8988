"""python3 -m alpacka.supervise: real runs that crash, fail or are stopped.

The policy (restarts, backoff, progress, signals) is tested on small Python
children; the recovery of a real run on a step-based SAC run that kills
itself with SIGKILL mid-epoch, as the out-of-memory killer would.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from supervise_helpers import (REPO_ROOT, check_replay_and_counters,
                               python_env, run_module, runner_args,
                               supervisor_records)

from alpacka import supervise
from alpacka.runner import cli

# A Pendulum that SIGKILLs its process at a given step of that process's
# life, once (a marker file remembers it), like a run the OOM killer ends.
SELF_KILLING_ENV = '''
import os
import signal

import gin

import alpacka

_steps_in_this_process = 0


@gin.configurable
class SelfKillingPendulum(alpacka.envs.Pendulum):
    def __init__(self, marker, kill_at_step):
        super().__init__()
        self._marker = marker
        self._kill_at_step = kill_at_step

    def step(self, action):
        global _steps_in_this_process
        _steps_in_this_process += 1
        if (_steps_in_this_process == self._kill_at_step and
                not os.path.exists(self._marker)):
            open(self._marker, 'w').close()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().step(action)
'''


def test_a_killed_sac_run_is_restarted_and_resumes_exactly(tmp_path):
    (tmp_path / 'self_killing_env.py').write_text(SELF_KILLING_ENV)
    (tmp_path / 'crash.gin').write_text(
        'import self_killing_env\n'
        'Runner.env_class = @SelfKillingPendulum\n'
        f'SelfKillingPendulum.marker = "{tmp_path / "killed"}"\n'
        # Mid-epoch 1: epoch 0 is checkpointed, 100 steps of epoch 1 are
        # lost with the process and collected again after the restart.
        'SelfKillingPendulum.kill_at_step = 300\n')
    output_dir = tmp_path / 'out'
    args = runner_args(output_dir, 'Runner.n_epochs = 3', config_files=(
        os.path.join(REPO_ROOT, 'alpacka', 'configs', 'sac_pendulum.gin'),
        str(tmp_path / 'crash.gin')))
    result = run_module('alpacka.supervise', ['--backoff', '0', '--', *args],
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / 'killed').exists()
    restarts = [line for line in result.stderr.splitlines()
                if line.startswith('alpacka.supervise:')]
    assert restarts == [restarts[0]]
    assert 'attempt 1 was killed by SIGKILL' in restarts[0]
    assert 'from the checkpoint after epoch 1' in restarts[0]
    records = supervisor_records(output_dir)
    assert [(record['event'], record.get('outcome')) for record in records] == [
        ('start', None), ('exit', 'restart'), ('start', None),
        ('exit', 'success')]
    assert records[1]['returncode'] == -signal.SIGKILL
    assert records[1]['checkpoint_epoch'] == 1
    # The killed run's lock did not stop the restart; the restart resumed
    # from epoch 1 and counted each step once.
    check_replay_and_counters(output_dir, n_epochs=3)


def test_a_config_error_is_not_restarted(tmp_path):
    output_dir = tmp_path / 'out'
    output_dir.mkdir()  # So that the supervisor's records have a place.
    result = run_module(
        'alpacka.supervise', ['--backoff', '0', '--',
                              *runner_args(output_dir, 'Runner.n_epochz = 3')],
        cwd=tmp_path)
    assert result.returncode == cli.EXIT_USER_ERROR
    assert 'n_epochz' in result.stderr
    assert 'alpacka.supervise:' not in result.stderr
    assert [(record['event'], record.get('outcome'))
            for record in supervisor_records(output_dir)] == [
                ('start', None), ('exit', 'user_error')]


def _python(code):
    return [sys.executable, '-c', code]


def test_max_restarts_is_honoured(tmp_path, capsys):
    supervisor = supervise.Supervisor(
        _python('import sys; sys.exit(3)'), str(tmp_path), max_restarts=2,
        backoff=0.05, max_backoff=0.08)
    assert supervisor.run() == 3
    records = supervisor_records(tmp_path)
    exits = [record for record in records if record['event'] == 'exit']
    assert [record['outcome'] for record in exits] == [
        'restart', 'restart', 'gave_up']
    assert [record.get('wait_s') for record in exits] == [0.05, 0.08, None]
    stderr = capsys.readouterr().err
    assert stderr.count('restarting it in') == 2
    paragraph = stderr.strip().splitlines()[-1]
    assert paragraph.startswith('alpacka.supervise: giving up after 3 '
                                'attempts (2 restarts in a row')
    assert 'the last one exited with code 3' in paragraph
    assert 'wrote no error.log' in paragraph
    assert 'No checkpoint was written yet: re-running' in paragraph


def test_a_signal_death_gives_up_with_128_plus_the_signal(tmp_path, capsys):
    error_log = tmp_path / 'error.log'
    error_log.write_text('Traceback of an earlier run\n')
    os.utime(error_log, (0, 0))
    supervisor = supervise.Supervisor(
        _python('import os, signal; os.kill(os.getpid(), signal.SIGKILL)'),
        str(tmp_path), max_restarts=0)
    assert supervisor.run() == 128 + signal.SIGKILL
    paragraph = capsys.readouterr().err
    assert 'the last one was killed by SIGKILL' in paragraph
    assert 'It wrote no error.log' in paragraph  # The old one is not its.


def test_the_paragraph_names_the_error_log_of_the_last_attempt(tmp_path,
                                                              capsys):
    supervisor = supervise.Supervisor(
        _python(f'open({str(tmp_path / "error.log")!r}, "w").write("Trace"); '
                'raise SystemExit(1)'), str(tmp_path), max_restarts=0)
    assert supervisor.run() == 1
    assert (f'Its error is in {tmp_path / "error.log"}.'
            in capsys.readouterr().err)


# Writes the checkpoint pointer of one more epoch, and fails until the third.
PROGRESSING_CHILD = '''
import os, sys
checkpoints = sys.argv[1]
latest = os.path.join(checkpoints, 'latest')
epoch = int(open(latest).read()[6:]) + 1 if os.path.exists(latest) else 1
os.makedirs(os.path.join(checkpoints, f'epoch_{epoch:06d}'))
open(latest, 'w').write(f'epoch_{epoch:06d}')
sys.exit(0 if epoch == 3 else 1)
'''


def test_progress_gives_the_restart_budget_back(tmp_path):
    supervisor = supervise.Supervisor(
        [*_python(PROGRESSING_CHILD), str(tmp_path / 'checkpoints')],
        str(tmp_path), max_restarts=1, backoff=0)
    assert supervisor.run() == 0
    exits = [record for record in supervisor_records(tmp_path)
             if record['event'] == 'exit']
    assert [(record['outcome'], record['checkpoint_epoch'])
            for record in exits] == [('restart', 1), ('restart', 2),
                                     ('success', 3)]


def test_backoff_doubles_up_to_its_cap():
    assert [supervise.backoff_s(n, 10, 45) for n in (1, 2, 3, 4)] == [
        10, 20, 40, 45]


# Says it is up, then stops on SIGINT or SIGTERM as the runner does (exit
# code 130), naming the signal in a file.
STOPPABLE_CHILD = '''
import signal, sys, time
def stop(signum, frame):
    open(sys.argv[1], 'w').write(signal.Signals(signum).name)
    sys.exit(130)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
open(sys.argv[1] + '.up', 'w').close()
time.sleep(60)
'''


def _wait_for_file(path, process=None):
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        assert process is None or process.poll() is None
        assert time.monotonic() < deadline, f'no {path}'
        time.sleep(0.05)


def _start_supervised_stoppable_child(tmp_path, marker):
    """A supervisor process over STOPPABLE_CHILD, once the child is up."""
    code = ('import sys; from alpacka import supervise; '
            f'sys.exit(supervise.Supervisor({[*_python(STOPPABLE_CHILD), str(marker)]!r}, '
            f'{str(tmp_path)!r}, backoff=0).run())')
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        _python(code), env=python_env(), cwd=REPO_ROOT,
        stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_file(f'{marker}.up', process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def test_sigterm_goes_to_the_child_and_is_not_restarted(tmp_path):
    marker = tmp_path / 'stopped_by'
    process = _start_supervised_stoppable_child(tmp_path, marker)
    try:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == cli.EXIT_INTERRUPTED, stderr
    assert marker.read_text() == 'SIGTERM'
    assert [(record['event'], record.get('outcome'))
            for record in supervisor_records(tmp_path)] == [
                ('start', None), ('exit', 'interrupted')]


def test_a_killed_supervisor_stops_its_child_as_ctrl_c_would(tmp_path):
    marker = tmp_path / 'stopped_by'
    process = _start_supervised_stoppable_child(tmp_path, marker)
    process.kill()
    process.communicate(timeout=60)
    _wait_for_file(marker)  # Left alone, the child would sleep for a minute.
    assert marker.read_text() == 'SIGINT'


def test_the_runner_arguments_come_after_a_double_dash():
    with pytest.raises(SystemExit) as raised:
        supervise.parse_args(['--max_restarts', '2', '--output_dir=out'])
    assert raised.value.code == 2
    args = supervise.parse_args(['--max_restarts', '2', '--', '--x=1'])
    assert (args.max_restarts, args.runner_args) == (2, ['--x=1'])
