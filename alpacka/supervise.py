"""``python3 -m alpacka.supervise``: restarts a crashed run from its checkpoint.

::

    python3 -m alpacka.supervise [--max_restarts 3] [--backoff 10] \\
        [--max_backoff 300] -- --config_file=... --output_dir=...

runs ``python3 -m alpacka.runner <the arguments after -->`` as a child
process. A re-run on the same ``--output_dir`` resumes from its last
checkpoint (the runner's contract), so when the child crashes or is killed
(a non-zero exit, or a signal such as the out-of-memory killer's SIGKILL),
the supervisor starts it again, after a wait:

- never after a config or user error (the runner's exit code 2): the same
  command would fail the same way; nor after an interrupt (exit code 130, or
  the child ended by SIGINT or SIGTERM), nor a success;
- the wait doubles from ``--backoff`` seconds with each failure in a row, up
  to ``--max_backoff``;
- at most ``--max_restarts`` restarts in a row without progress. Reset
  policy: an attempt that wrote a new checkpoint before it failed made
  progress, so the count (and the backoff) start again from zero; a run that
  keeps crashing before its next checkpoint uses them up;
- SIGINT or SIGTERM to the supervisor goes to the child (which then stops
  and checkpoints as on Ctrl-C); the supervisor waits for it and exits. The
  child runs in its own session, so a Ctrl-C in the terminal reaches it
  once, through the supervisor; and through the sweep's child_guard, so a
  supervisor that dies (even of SIGKILL) stops it as Ctrl-C would.

Each start and exit is one JSON object in ``<output_dir>/supervisor.jsonl``
(written once the runner has made the directory: a run that fails before
that leaves none), and each restart one line on stderr. The supervisor's exit
code is 0 on success, else the child's last code (128 + the signal number
for a child killed by a signal).
"""

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

from alpacka.experiments import child_guard
from alpacka.runner import cli
from alpacka.runner import failures
from alpacka.utils import run_directory

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f'signal {signum}'


def describe_exit(returncode: int) -> str:
    """``'exited with code 1'`` or ``'was killed by SIGKILL'`` (a negative
    Popen returncode is the signal that ended the process)."""
    if returncode < 0:
        return f'was killed by {_signal_name(-returncode)}'
    return f'exited with code {returncode}'


def exit_code(returncode: int) -> int:
    """The shell's exit code for a Popen returncode: 128 + the signal
    number for a process killed by a signal."""
    return 128 - returncode if returncode < 0 else returncode


def is_interrupt(returncode: int) -> bool:
    """Whether the child was stopped on purpose: the runner's code for an
    interrupt, or killed by SIGINT or SIGTERM before its handler was up."""
    return (returncode == cli.EXIT_INTERRUPTED or
            -returncode in (int(signum) for signum in _STOP_SIGNALS))


def backoff_s(failures_in_a_row: int, backoff: float,
              max_backoff: float) -> float:
    """The wait before the next start: backoff doubled with each failure in
    a row after the first, capped at max_backoff."""
    return min(backoff * 2 ** max(failures_in_a_row - 1, 0), max_backoff)


class Supervisor:
    """Runs a command until it succeeds, restarting it when it crashes.

    Args:
        command: The child's argv (``python3 -m alpacka.runner ...``; the
            program as an absolute path, for child_guard's exec).
        output_dir: The run's output directory (its checkpoint shows
            progress; supervisor.jsonl goes there).
        max_restarts: Restarts in a row without a new checkpoint (>= 0).
        backoff: Seconds before the first restart in a row (>= 0).
        max_backoff: Cap of the doubling wait, in seconds (>= 0).
    """

    def __init__(self, command: Sequence[str], output_dir: str,
                 max_restarts: int = 3, backoff: float = 10.0,
                 max_backoff: float = 300.0):
        self._command = list(command)
        self._output_dir = output_dir
        self._max_restarts = max_restarts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._child: Optional[subprocess.Popen] = None
        self._stop_signal: Optional[int] = None
        self._pending: List[Dict[str, Any]] = []
        self._last_start_time = 0.0  # time.time() of the last start.

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        del frame
        self._stop_signal = signum
        if self._child is not None and self._child.poll() is None:
            self._child.send_signal(signum)

    def _record(self, event: str, **fields) -> None:
        """Appends a record to supervisor.jsonl once the directory exists
        (records made before wait for it)."""
        self._pending.append({
            'event': event,
            'time': datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec='milliseconds'), **fields})
        if not os.path.isdir(self._output_dir):
            return
        path = run_directory.supervisor_log_path(self._output_dir)
        try:
            with open(path, 'a', encoding='utf-8') as log_file:
                for record in self._pending:
                    log_file.write(json.dumps(record) + '\n')
        except OSError as error:
            _say(f'cannot write {path} ({error.strerror or error}); '
                 f'supervising on.')
        self._pending = []

    def _wait(self, seconds: float) -> None:
        """Sleeps, but returns at once on SIGINT or SIGTERM."""
        deadline = time.monotonic() + seconds
        while self._stop_signal is None and time.monotonic() < deadline:
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))

    def _run_once(self, attempt: int) -> int:
        """Starts the child, waits for it; returns its Popen returncode."""
        # The child gets its own session: a Ctrl-C in the terminal reaches
        # the supervisor only, which forwards it once. child_guard stops it
        # (as Ctrl-C would) if the supervisor dies, even of SIGKILL.
        self._child = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, child_guard.__file__, str(os.getpid()),
             *self._command], start_new_session=True)
        self._record('start', attempt=attempt, pid=self._child.pid,
                     command=self._command)
        if self._stop_signal is not None:  # Came before _child was set.
            self._child.send_signal(self._stop_signal)
        returncode = self._child.wait()
        self._child = None
        return returncode

    def run(self) -> int:
        """Runs the child until it succeeds, fails for good or is stopped.

        Returns:
            The exit code: 0 on success, else the child's last one.
        """
        previous = {signum: signal.signal(signum, self._on_stop_signal)
                    for signum in _STOP_SIGNALS}
        try:
            return self._supervise()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _supervise(self) -> int:
        attempt, failures_in_a_row = 0, 0
        while True:
            attempt += 1
            checkpoint_before = failures.last_checkpoint_epoch(
                self._output_dir)
            started = time.monotonic()
            self._last_start_time = time.time()
            returncode = self._run_once(attempt)
            duration_s = round(time.monotonic() - started, 3)
            checkpoint = failures.last_checkpoint_epoch(self._output_dir)
            exit_fields = {'attempt': attempt, 'returncode': returncode,
                           'exit_code': exit_code(returncode),
                           'duration_s': duration_s,
                           'checkpoint_epoch': checkpoint}
            if returncode == 0 or returncode == cli.EXIT_USER_ERROR or (
                    is_interrupt(returncode) or self._stop_signal is not None):
                outcome = ('success' if returncode == 0 else
                           'user_error' if returncode == cli.EXIT_USER_ERROR
                           else 'interrupted')
                self._record('exit', outcome=outcome, **exit_fields)
                if outcome == 'user_error' and attempt > 1:
                    _say(f'attempt {attempt} failed on a config or user '
                         f'error (exit code 2); not restarting it.')
                return exit_code(returncode)
            if checkpoint is not None and checkpoint != checkpoint_before:
                failures_in_a_row = 0  # Progress: a fresh restart budget.
            failures_in_a_row += 1
            if failures_in_a_row > self._max_restarts:
                self._record('exit', outcome='gave_up', **exit_fields)
                _say(self._give_up_paragraph(attempt, returncode, checkpoint))
                return exit_code(returncode)
            wait_s = backoff_s(failures_in_a_row, self._backoff,
                               self._max_backoff)
            self._record('exit', outcome='restart', wait_s=wait_s,
                         **exit_fields)
            _say(f'attempt {attempt} {describe_exit(returncode)} after '
                 f'{duration_s:.1f} s; restarting it in {wait_s:g} s '
                 f'(restart {failures_in_a_row} of at most '
                 f'{self._max_restarts} in a row), from '
                 + (f'the checkpoint after epoch {checkpoint}.'
                    if checkpoint is not None else 'the start (no '
                    'checkpoint yet).'))
            self._wait(wait_s)
            if self._stop_signal is not None:
                return cli.EXIT_INTERRUPTED

    def _give_up_paragraph(self, attempts: int, returncode: int,
                           checkpoint: Optional[int]) -> str:
        error_log = run_directory.error_log_path(self._output_dir)
        try:
            fresh = os.path.getmtime(error_log) >= self._last_start_time
        except OSError:
            fresh = False
        if fresh:
            where = f'Its error is in {error_log}.'
        else:
            where = (f'It wrote no {run_directory.ERROR_LOG_FILE} (a process '
                     f'killed by a signal cannot): its output above shows '
                     f'how far it got.')
        return ' '.join([
            f'giving up after {attempts} attempts ({self._max_restarts} '
            f'restarts in a row without a new checkpoint): the last one '
            f'{describe_exit(returncode)}.', where,
            failures.resume_advice(
                checkpoint, run_directory.checkpoints_dir(self._output_dir)),
            f'The attempts are in '
            f'{run_directory.supervisor_log_path(self._output_dir)}.'])


def _say(message: str) -> None:
    print(f'alpacka.supervise: {message}', file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The supervisor's options, and the runner's arguments after ``--``.

    Raises:
        SystemExit: (code 2) bad options, or no ``--`` with the runner's
            arguments after it (argparse's message).
    """
    parser = argparse.ArgumentParser(
        prog='python3 -m alpacka.supervise',
        usage='%(prog)s [options] -- <arguments of python3 -m alpacka.runner>',
        description='Runs python3 -m alpacka.runner with the arguments after '
                    '--, restarting it from its last checkpoint when it '
                    'crashes or is killed.')
    parser.add_argument('--max_restarts', type=int, default=3,
                        help='Restarts in a row without a new checkpoint '
                             'before giving up (default 3).')
    parser.add_argument('--backoff', type=float, default=10.0,
                        help='Seconds to wait before a restart, doubled with '
                             'each failure in a row (default 10).')
    parser.add_argument('--max_backoff', type=float, default=300.0,
                        help='Longest wait between restarts, in seconds '
                             '(default 300).')
    argv = list(argv)
    if '--' not in argv:
        parser.error('give the runner\'s arguments after --, e.g. '
                     'python3 -m alpacka.supervise -- --config_file=run.gin '
                     '--output_dir=./out')
    split = argv.index('--')
    args = parser.parse_args(argv[:split])
    for name in ('max_restarts', 'backoff', 'max_backoff'):
        if getattr(args, name) < 0:
            parser.error(f'--{name} must be at least 0, not '
                         f'{getattr(args, name)}')
    args.runner_args = argv[split + 1:]
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # The runner's own parser names a missing --output_dir (exit code 2).
    runner_args = cli.parse_args(args.runner_args)
    output_dir = os.path.abspath(os.path.expanduser(runner_args.output_dir))
    supervisor = Supervisor(
        [sys.executable, '-m', 'alpacka.runner', *args.runner_args],
        output_dir, max_restarts=args.max_restarts, backoff=args.backoff,
        max_backoff=args.max_backoff)
    return supervisor.run()


if __name__ == '__main__':
    sys.exit(main())
