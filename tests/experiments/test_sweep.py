"""python3 -m alpacka.sweep: running a spec's experiments, locally and on Ray,
resuming, failures, and the checks made before anything starts."""

import json
import os
import signal
import socket
import subprocess
import sys

from experiments_helpers import (read_status, returns, run_module,
                                 start_module, wait_for, write_spec)
from process_helpers import pid_alive

from alpacka.experiments import sweep

GRID = {'Runner.seed': [1, 2], 'Runner.n_envs': [1, 3]}
NAMES = ['Runner.seed=1,Runner.n_envs=1', 'Runner.seed=1,Runner.n_envs=3',
         'Runner.seed=2,Runner.n_envs=1', 'Runner.seed=2,Runner.n_envs=3']


def test_sweep_runs_every_experiment_and_prints_a_summary(tmp_path):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 2}, GRID)
    result = run_module('alpacka.sweep', [
        spec, '--output_dir=sweep', '--n_parallel=2',
        '--config=Runner.episode_time_limit=10'], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in NAMES:
        job_dir = tmp_path / 'sweep' / name
        status = read_status(job_dir)
        assert status['status'] == 'finished'
        assert status['returncode'] == 0
        assert status['log'] == str(job_dir / 'log.txt')
        assert status['ended'] >= status['started']
        assert set(returns(job_dir)) == {0, 1}
        config = (job_dir / 'config.gin').read_text()
        # The sweep's own --config comes last and wins.
        assert 'Runner.episode_time_limit = 10' in config
        assert f'Runner.n_envs = {name[-1]}' in config
        assert 'episode/return_mean' in (job_dir / 'log.txt').read_text()
    summary = result.stdout[result.stdout.index('Sweep summary'):]
    header = summary.splitlines()[1].split()
    assert header[:2] == ['Runner.seed', 'Runner.n_envs']
    assert 'status' in header and 'epochs' in header
    assert summary.count('2/2') == 4 and summary.count('finished') >= 4
    assert '4 finished (of 4)' in summary


def test_rerun_after_sigkill_skips_finished_and_resumes_the_rest(tmp_path):
    # Zipped keys: three experiments, the second much longer.
    spec = write_spec(tmp_path, {}, {'Runner.seed___': [1, 2, 3],
                                     'Runner.n_epochs___': [2, 100, 2]})
    args = [spec, '--output_dir=sweep', '--n_parallel=1']
    first, second, third = (tmp_path / 'sweep' / name for name in (
        'Runner.seed=1,Runner.n_epochs=2', 'Runner.seed=2,Runner.n_epochs=100',
        'Runner.seed=3,Runner.n_epochs=2'))
    launcher = start_module('alpacka.sweep', args, cwd=tmp_path)
    try:
        wait_for((second / 'checkpoints' / 'latest').exists)
        launcher.send_signal(signal.SIGKILL)
        launcher.communicate(timeout=30)
    finally:
        launcher.kill()
    assert read_status(first)['status'] == 'finished'
    interrupted = read_status(second)
    assert interrupted['status'] == 'running'
    # The orphaned experiment got SIGINT from the kernel and stopped.
    wait_for(lambda: not pid_alive(interrupted['pid']), timeout=30)
    assert not third.exists()
    finished_mtime = os.stat(first / 'sweep_status.json').st_mtime_ns
    finished_log = (first / 'log.txt').read_text()

    result = run_module('alpacka.sweep', args, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f'{first.name}: already finished; skipped.' in result.stdout
    assert os.stat(first / 'sweep_status.json').st_mtime_ns == finished_mtime
    assert (first / 'log.txt').read_text() == finished_log
    assert read_status(first)['attempts'] == 1
    resumed = read_status(second)
    assert resumed['status'] == 'finished' and resumed['attempts'] == 2
    log = (second / 'log.txt').read_text()
    assert 'attempt 2' in log and 'Resuming from the checkpoint' in log
    assert set(returns(second)) == set(range(100))
    assert read_status(third)['status'] == 'finished'


def test_failed_experiment_is_reported_and_the_others_finish(tmp_path):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1}, {
        'Runner.env_kwargs': [{}, {'no_such_argument': 1}, {}],
        'Runner.seed': [1]})
    result = run_module('alpacka.sweep', [spec, '--output_dir=sweep',
                                          '--n_parallel=2'], cwd=tmp_path)
    assert result.returncode == 1
    statuses = {path.name: read_status(path)
                for path in (tmp_path / 'sweep').iterdir() if path.is_dir()}
    failed = [status for status in statuses.values()
              if status['status'] == 'failed']
    assert len(statuses) == 3 and len(failed) == 1
    assert sum(status['status'] == 'finished'
               for status in statuses.values()) == 2
    log_path = failed[0]['log']
    assert failed[0]['returncode'] == 2  # A config error (issue 14).
    with open(log_path, encoding='utf-8') as log_file:
        assert 'no_such_argument' in log_file.read()
    assert f'log: {log_path}' in result.stdout
    assert '2 finished, 1 failed (of 3)' in result.stdout


def test_unknown_binding_fails_before_any_experiment_starts(tmp_path,
                                                            capsys):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1},
                      {'Runner.seed': [1, 2], 'Runner.n_envz': [2]})
    exit_code = sweep.main([spec, f'--output_dir={tmp_path / "sweep"}'])
    captured = capsys.readouterr()
    assert exit_code == 2
    assert "Runner.n_envz" in captured.err
    assert "Did you mean 'Runner.n_envs'?" in captured.err
    assert 'No experiment was started.' in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert not (tmp_path / 'sweep').exists()


def test_sigterm_stops_the_running_experiments(tmp_path):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1000}, {'Runner.seed': 1})
    launcher = start_module('alpacka.sweep', [spec, '--output_dir=sweep'],
                            cwd=tmp_path)
    job_dir = tmp_path / 'sweep' / 'test-sweep'
    try:
        wait_for((job_dir / 'checkpoints' / 'latest').exists)
        pid = read_status(job_dir)['pid']
        launcher.send_signal(signal.SIGTERM)
        stdout, _ = launcher.communicate(timeout=60)
    finally:
        launcher.kill()
    assert launcher.returncode == 130
    assert not pid_alive(pid)
    assert read_status(job_dir)['status'] == 'interrupted'
    assert 'interrupted' in stdout


def test_sweep_on_ray(ray_cluster, tmp_path, capsys):
    del ray_cluster
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1},
                      {'Runner.seed': [1, 2]},
                      gin_file=str(tmp_path / 'small.gin'))
    exit_code = sweep.main([spec, f'--output_dir={tmp_path / "sweep"}',
                            '--ray'])
    output = capsys.readouterr().out
    assert exit_code == 0, output
    for seed in (1, 2):
        job_dir = tmp_path / 'sweep' / f'Runner.seed={seed}'
        status = read_status(job_dir)
        assert status['status'] == 'finished'
        assert status['pid'] != os.getpid()
        assert set(returns(job_dir)) == {0}
    assert 'submitted to Ray' in output and '2 finished (of 2)' in output


def test_an_experiment_still_running_from_an_earlier_launcher_is_not_raced(
        tmp_path, capsys):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1}, {})
    output_dir = tmp_path / 'sweep'
    job_dir = output_dir / 'test-sweep'
    job_dir.mkdir(parents=True)
    # A process that looks like the experiment (same --output_dir argument).
    leftover = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, '-c', 'import time; time.sleep(60)',
         f'--output_dir={job_dir}'])
    try:
        status = {'status': 'running', 'pid': leftover.pid,
                  'host': socket.gethostname()}
        (job_dir / 'sweep_status.json').write_text(json.dumps(status))
        assert sweep.main([spec, f'--output_dir={output_dir}']) == 2
        assert f'still running from an earlier sweep (pid {leftover.pid})' in (
            capsys.readouterr().err)
        # Another process that happens to have that PID does not count.
        status['pid'] = os.getpid()
        (job_dir / 'sweep_status.json').write_text(json.dumps(status))
    finally:
        leftover.kill()
        leftover.wait()
    assert sweep.main([spec, f'--output_dir={output_dir}']) == 0
    assert read_status(job_dir)['status'] == 'finished'
