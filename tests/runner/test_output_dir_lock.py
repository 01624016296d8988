"""One run per output directory: real runs holding and losing the run lock."""

import os
import signal
import time

import pytest

from alpacka import errors
from alpacka.utils import run_directory
from alpacka.utils import run_lock
from tests.runner.cli_helpers import run_cli, start_cli

# Tiny epochs, many of them: the run holds its directory until stopped.
LONG_RUN = ['--config=Runner.n_envs=2', '--config=Runner.episode_time_limit=5',
            '--config=Runner.n_epochs=100000', '--config=Runner.seed=1']


def wait_until_running(process, output_dir, timeout=120):
    """Waits until process holds the lock and has checkpointed an epoch."""
    lock_path = os.path.join(output_dir, run_directory.RUN_LOCK_FILE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with open(lock_path, encoding='utf-8') as lock_file:
                holder = lock_file.readline().strip()
        except FileNotFoundError:
            holder = ''
        if (holder == str(process.pid) and
                run_directory.has_checkpoint(output_dir)):
            return
        time.sleep(0.1)
    pytest.fail(f'{process.args} did not start within {timeout} s')


def test_second_run_is_refused_while_the_first_holds_the_lock(tmp_path):
    output_dir = tmp_path / 'run'
    first = start_cli([f'--output_dir={output_dir}', *LONG_RUN])
    try:
        wait_until_running(first, output_dir)
        second = run_cli([f'--output_dir={output_dir}', *LONG_RUN])
        assert second.returncode == 2
        assert 'Traceback' not in second.stderr
        [paragraph] = second.stderr.strip().split('\n')
        assert paragraph.startswith('alpacka: error: ')
        assert f'process {first.pid} (' in paragraph
        assert 'alpacka.runner' in paragraph
        assert f'kill {first.pid}' in paragraph
        # The first run is unharmed and still holds the directory.
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)
    assert first.returncode == 130
    # The lock went with its run.
    assert not os.path.exists(output_dir / run_directory.RUN_LOCK_FILE)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    output_dir = tmp_path / 'run'
    holder = start_cli([f'--output_dir={output_dir}', *LONG_RUN])
    wait_until_running(holder, output_dir)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=60)
    # The lock file is left behind, but not the lock.
    assert os.path.exists(output_dir / run_directory.RUN_LOCK_FILE)
    resumed = run_cli([f'--output_dir={output_dir}', *LONG_RUN,
                       '--config=Runner.n_epochs=1'])
    assert resumed.returncode == 0, resumed.stderr
    assert 'Resuming from the checkpoint' in resumed.stderr
    assert not os.path.exists(output_dir / run_directory.RUN_LOCK_FILE)


def test_run_lock_refuses_a_second_holder_and_names_it(tmp_path):
    first = run_lock.RunLock(str(tmp_path / 'new' / 'dir'))
    second = run_lock.RunLock(str(tmp_path / 'new' / 'dir'))
    with first:
        assert first.held
        with pytest.raises(errors.OutputDirError,
                           match=f'in use by another run: process '
                                 f'{os.getpid()} '):
            second.acquire()
        assert not second.held
    assert not os.path.exists(first.path)
    with second:
        assert second.held


def test_run_lock_names_an_unwritable_directory(tmp_path):
    blocked = tmp_path / 'file'
    blocked.write_text('not a directory')
    with pytest.raises(errors.OutputDirError,
                       match='Cannot write to the output directory'):
        run_lock.RunLock(str(blocked / 'run')).acquire()
    with pytest.raises(errors.OutputDirError,
                       match='is a file, not a directory'):
        run_lock.RunLock(str(blocked)).acquire()
    assert blocked.read_text() == 'not a directory'
