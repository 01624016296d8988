"""Runs every experiment of an mrunner spec: ``python3 -m alpacka.sweep``.

    python3 -m alpacka.sweep SPEC.py --output_dir=DIR [--n_parallel=N] [--ray]
        [--config=BINDING ...]

Each experiment of the spec runs as ``python -m alpacka.runner`` in a
subprocess: the ``--config_file`` values of the spec's ``script``, then the
experiment's parameters as ``--config`` bindings, then the script's own
``--config`` values and the sweep's ``--config`` values (later ones win), with
``--output_dir=DIR/<name>``. The name is made of the parameters that vary
across the spec (``Runner.seed=1,ShootingAgent.n_rollouts=8``; see naming).

In ``DIR/<name>/`` the experiment's stdout and stderr go to ``log.txt``
(appended to on every attempt) and its state to ``sweep_status.json``
(written atomically: ``running``, ``finished``, ``failed`` or
``interrupted``, with the return code, the log's path and the times).

Re-running the same command skips finished experiments and starts the others
again; the Runner resumes each from its own checkpoint. Every experiment's
Gin bindings are checked before any starts. A failed experiment does not stop
the others; the sweep then exits with 1. Ctrl-C or SIGTERM stops the running
experiments as Ctrl-C stops a single run (they checkpoint); if the launcher
is killed outright, its experiments get SIGINT from the kernel (see
child_guard.py).
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from typing import Any, Dict, List, Optional, Sequence, Tuple

from alpacka import errors
from alpacka import metric_logging
from alpacka.experiments import jobs as jobs_lib
from alpacka.experiments.jobs import FAILED, FINISHED, INTERRUPTED, RUNNING, Job
from alpacka.runner import config_drift
from alpacka.runner import specs
from alpacka.utils import run_directory
from alpacka.utils import run_lock

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

LOCK_FILE = run_directory.SWEEP_LOCK_FILE
RETURN_METRIC = 'episode/return_mean'
_POLL_S = 0.2


def default_n_parallel() -> int:
    """Experiments run at once by default: half the CPUs this process may
    use (at least 1), leaving room for the experiments' own threads and for
    other work on a shared machine."""
    try:
        n_cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # Not on Linux.
        n_cpus = os.cpu_count() or 1
    return max(1, n_cpus // 2)


class RayUnavailableError(Exception):
    """Ray could not be started or reached (exit code 1)."""


class _Interrupted(Exception):
    """SIGTERM, turned into an exception in the launcher's main thread."""


class Launcher:
    """Runs jobs locally or on Ray and records how each ended."""

    def __init__(self, jobs: Sequence[Job], python: str = sys.executable):
        self._jobs = list(jobs)
        self._python = python
        self.interrupted = False

    def _announce(self, job: Job, text: str) -> None:
        position = self._jobs.index(job) + 1
        print(f'[{position}/{len(self._jobs)}] {job.name}: {text}', flush=True)

    def finish(self, job: Job, returncode: Optional[int], started: float,
               interrupted: bool = False, error: str = '') -> None:
        """Records how a job ended (see jobs.record_end) and says so."""
        status = jobs_lib.record_end(job, returncode, started, interrupted,
                                     error)
        if status['status'] == FINISHED:
            self._announce(job, f'finished in {status["duration_s"]:.1f} s')
        elif status['status'] == FAILED:
            reason = error or f'exit code {returncode}'
            self._announce(job, f'FAILED ({reason}); see its log: '
                                f'{job.log_path}')
        else:
            self._announce(job, 'interrupted')

    def run_local(self, n_parallel: int) -> None:
        """Runs the jobs as local subprocesses, n_parallel at a time."""
        pending = list(self._jobs)
        running: List[Tuple[Job, subprocess.Popen, float]] = []
        try:
            while pending or running:
                while pending and len(running) < n_parallel:
                    job = pending.pop(0)
                    process, started = jobs_lib.launch(job, self._python)
                    running.append((job, process, started))
                    self._announce(job, f'started (pid {process.pid})')
                for entry in list(running):
                    job, process, started = entry
                    if process.poll() is not None:
                        running.remove(entry)
                        self.finish(job, process.returncode, started)
                time.sleep(_POLL_S)
        except (KeyboardInterrupt, _Interrupted):
            self.interrupted = True
            print(f'alpacka.sweep: interrupted; stopping {len(running)} '
                  f'running experiment(s)...', file=sys.stderr, flush=True)
            jobs_lib.stop([process for _, process, _ in running])
            for job, process, started in running:
                self.finish(job, process.returncode, started,
                            interrupted=True)
        except BaseException:
            jobs_lib.stop([process for _, process, _ in running])
            raise

    def run_on_ray(self, n_parallel: Optional[int]) -> None:
        """Runs each job in a Ray task (num_cpus=1) on the cluster that
        init_ray finds (RAY_ADDRESS, or a local one it starts and stops)."""
        import ray  # pylint: disable=import-outside-toplevel
        from alpacka.batch_steppers import ray as ray_stepper  # pylint: disable=import-outside-toplevel
        try:
            started_ray = ray_stepper.init_ray()
        except Exception as error:  # pylint: disable=broad-except
            raise RayUnavailableError(
                f'Ray did not start ({type(error).__name__}: '
                f'{_first_line(error)}); no experiment was started. Check '
                f'RAY_ADDRESS, or retry when the machine is less loaded.'
            ) from error
        # ray.init may install its own SIGTERM handler; ours stops the jobs.
        previous_handler = _install_sigterm_handler()
        remote_run_job = ray.remote(num_cpus=1,
                                    max_retries=0)(jobs_lib.run_job)
        pending = list(self._jobs)
        in_flight: Dict[Any, Tuple[Job, float]] = {}
        try:
            while pending or in_flight:
                while pending and (n_parallel is None or
                                   len(in_flight) < n_parallel):
                    job = pending.pop(0)
                    in_flight[remote_run_job.remote(job, self._python)] = (
                        job, time.time())
                    self._announce(job, 'submitted to Ray')
                ready, _ = ray.wait(list(in_flight), num_returns=1,
                                    timeout=1.0)
                for ref in ready:
                    self._finish_ray(ray, ref, *in_flight.pop(ref))
        except (KeyboardInterrupt, _Interrupted):
            self.interrupted = True
            print(f'alpacka.sweep: interrupted; stopping {len(in_flight)} '
                  f'experiment(s) on Ray...', file=sys.stderr, flush=True)
            for ref in in_flight:
                ray.cancel(ref)  # KeyboardInterrupt in run_job: it stops.
            if in_flight:
                _, stuck = ray.wait(list(in_flight),
                                    num_returns=len(in_flight),
                                    timeout=jobs_lib.STOP_GRACE_S + 5)
                for ref in stuck:
                    ray.cancel(ref, force=True)
            for ref, (job, submitted) in in_flight.items():
                self._finish_ray(ray, ref, job, submitted, interrupted=True)
        finally:
            _restore_sigterm_handler(previous_handler)
            if started_ray:
                ray.shutdown()

    def _finish_ray(self, ray: Any, ref: Any, job: Job, submitted: float,
                    interrupted: bool = False) -> None:
        try:
            result = ray.get(ref, timeout=5 if interrupted else None)
        except (ray.exceptions.RayError,
                ray.exceptions.GetTimeoutError) as error:
            self.finish(job, None, submitted, interrupted=interrupted,
                        error=f'{type(error).__name__}: {_first_line(error)}')
            return
        self.finish(job, result['returncode'], result['started'],
                    interrupted=interrupted or result['interrupted'])


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [''])[0]


def _raise_interrupted(signum: int, frame: Any) -> None:
    del signum, frame
    raise _Interrupted()


def _install_sigterm_handler() -> Any:
    """Makes SIGTERM stop the sweep like Ctrl-C; returns the old handler
    (for _restore_sigterm_handler). Only the main thread can do so."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupted)


def _restore_sigterm_handler(handler: Any) -> None:
    if handler is not None:
        signal.signal(signal.SIGTERM, handler)


# --- Summary --------------------------------------------------------------


def _returns(job: Job) -> Dict[int, float]:
    try:
        series = metric_logging.read_series(job.output_dir)
    except FileNotFoundError:  # The job has not finished an epoch yet.
        return {}
    return series.get(RETURN_METRIC, {})


def summary_rows(jobs: Sequence[Job]) -> List[Dict[str, str]]:
    """One row per job: its varying parameters, the final and best
    episode/return_mean, epochs done and status."""
    keys = list(dict.fromkeys(key for job in jobs for key in job.values))
    rows = []
    for job in jobs:
        returns = _returns(job)
        status = jobs_lib.read_status(job) or {}
        epochs = str(len(returns))
        if job.n_epochs is not None:
            epochs += f'/{job.n_epochs}'
        row = ({key: job.values.get(key, '-') for key in keys} if keys
               else {'experiment': job.name})
        row.update({
            'final return': (f'{returns[max(returns)]:.2f}'
                             if returns else '-'),
            'best return': f'{max(returns.values()):.2f}' if returns else '-',
            'epochs': epochs,
            'status': status.get('status', 'not started')})
        rows.append(row)
    return rows


def format_table(rows: Sequence[Dict[str, str]]) -> str:
    """Rows of equal keys as an aligned text table."""
    columns = list(rows[0])
    widths = {column: max(len(column), *(len(row[column]) for row in rows))
              for column in columns}
    lines = ['  '.join(column.ljust(widths[column]) for column in columns)]
    lines.append('  '.join('-' * widths[column] for column in columns))
    lines.extend('  '.join(row[column].ljust(widths[column])
                           for column in columns) for row in rows)
    return '\n'.join(line.rstrip() for line in lines)


def print_summary(jobs: Sequence[Job], output_dir: str) -> Dict[str, int]:
    """Prints the summary table and the failed experiments' logs.

    Returns:
        How many jobs are in each state.
    """
    rows = summary_rows(jobs)
    print(f'\nSweep summary ({RETURN_METRIC}; {output_dir}):')
    print(format_table(rows))
    counts: Dict[str, int] = {}
    for job, row in zip(jobs, rows):
        counts[row['status']] = counts.get(row['status'], 0) + 1
        if row['status'] == FAILED:
            status = jobs_lib.read_status(job) or {}
            reason = status.get('error') or (
                f'exit code {status.get("returncode")}')
            print(f'FAILED: {job.name} ({reason}); log: {job.log_path}')
    order = [FINISHED, FAILED, INTERRUPTED, RUNNING]
    states = sorted(counts, key=lambda state: (
        order.index(state) if state in order else len(order), state))
    print(', '.join(f'{counts[state]} {state}' for state in states) +
          f' (of {len(jobs)})', flush=True)
    return counts


# --- The command line -----------------------------------------------------


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        prog='python3 -m alpacka.sweep',
        description='Runs every experiment of an mrunner spec as a '
                    'subprocess (python -m alpacka.runner), locally or on '
                    'Ray; re-running resumes the unfinished ones.')
    parser.add_argument('spec', help='The spec: a Python file that builds '
                                     'experiments_list with '
                                     'create_experiments_helper.')
    parser.add_argument('--output_dir', required=True,
                        help='Each experiment runs in <output_dir>/<name>.')
    parser.add_argument('--n_parallel', type=int, default=None,
                        help='Experiments run at once (default: locally '
                             f'{default_n_parallel()}, half the CPUs; on Ray '
                             'as many as the cluster has CPUs for).')
    parser.add_argument('--ray', action='store_true',
                        help='Run the experiments as Ray tasks (num_cpus=1) '
                             'on the cluster RAY_ADDRESS names, or on a '
                             'local one.')
    parser.add_argument('--config', action='append', default=[],
                        help='Gin binding added to every experiment, after '
                             'its own; may be repeated.')
    parser.add_argument('--allow_config_change', action='store_true',
                        help='Let experiments resume under other bindings '
                             'than their runs were made with (passed to '
                             'each python -m alpacka.runner). Without it a '
                             'sweep whose bindings changed is refused.')
    parser.add_argument('--debug', action='store_true',
                        help='Show full tracebacks for errors.')
    args = parser.parse_args(argv)
    if args.n_parallel is not None and args.n_parallel < 1:
        parser.error('--n_parallel must be at least 1.')
    return args


def _jobs_to_run(jobs: Sequence[Job]) -> List[Job]:
    """The jobs not finished with the same arguments by an earlier run.

    Raises:
        UserError: jobs are still running, from an earlier launcher or
            another command (their directory's run lock is held); the
            message has one line for each.
    """
    to_run, in_use = [], []
    for job in jobs:
        status = jobs_lib.read_status(job) or {}
        pid = jobs_lib.alive_elsewhere(status, job)
        if pid is not None:
            in_use.append(f'  {job.name} is still running from an earlier '
                          f'sweep (pid {pid}); kill {pid} stops it')
            continue
        holder = run_lock.holder(job.output_dir)
        if holder is not None:
            in_use.append(f'  {job.name} is in use by {holder}')
            continue
        if status.get('status') == FINISHED:
            if status.get('runner_args') == job.runner_args:
                print(f'{job.name}: already finished; skipped.')
                continue
            print(f'{job.name}: finished earlier with other arguments; '
                  f'running it again (it resumes from its checkpoint).')
        to_run.append(job)
    if in_use:
        lines = '\n'.join(in_use)
        raise errors.UserError(
            f'{len(in_use)} experiment(s) of this sweep are running '
            f'already:\n{lines}\nWait for them to end (or stop them), then '
            f're-run: finished experiments are skipped, the others resume.')
    return to_run


def run_sweep(args: argparse.Namespace) -> int:
    """Runs a sweep described by parsed arguments; returns the exit code."""
    loaded = specs.load_experiments(args.spec)
    output_dir = os.path.abspath(os.path.expanduser(args.output_dir))
    jobs = jobs_lib.make_jobs(
        os.path.abspath(args.spec), loaded['experiments'], output_dir,
        args.config, [config_drift.FLAG] if args.allow_config_change else [])
    jobs_lib.validate(jobs)
    # One launcher per sweep directory (the experiments lock their own).
    with run_lock.RunLock(output_dir, what='sweep', lock_file=LOCK_FILE):
        to_run = _jobs_to_run(jobs)
        print(f'alpacka.sweep: {len(jobs)} experiment(s) in {output_dir}; '
              f'{len(to_run)} to run'
              + (' on Ray.' if args.ray else
                 f', {args.n_parallel or default_n_parallel()} at a time.'),
              flush=True)
        launcher = Launcher(to_run)
        if to_run:
            if args.ray:
                launcher.run_on_ray(args.n_parallel)
            else:
                previous_handler = _install_sigterm_handler()
                try:
                    launcher.run_local(args.n_parallel or default_n_parallel())
                finally:
                    _restore_sigterm_handler(previous_handler)
        counts = print_summary(jobs, output_dir)
    if launcher.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if counts.get(FAILED) else EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of python3 -m alpacka.sweep; returns the exit code."""
    args = parse_args(argv)
    try:
        return run_sweep(args)
    except errors.UserError as error:
        if args.debug:
            traceback.print_exc()
        print(f'alpacka.sweep: error: {error}', file=sys.stderr)
        return EXIT_USER_ERROR
    except RayUnavailableError as error:
        if args.debug:
            traceback.print_exc()
        print(f'alpacka.sweep: error: {error}', file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
