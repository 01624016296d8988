"""Starts a program that is interrupted when the process that launched it dies.

    python child_guard.py PARENT_PID PROGRAM [ARGS...]

The sweep launcher starts every experiment through this script (run by path,
so it imports nothing of Alpacka). It asks Linux to send SIGINT to this
process when its parent dies (``prctl(PR_SET_PDEATHSIG)``; the setting
survives ``exec``), resets SIGINT to its default so that Python turns it into
KeyboardInterrupt, and replaces itself with the program (same PID). So an
experiment whose launcher is killed, even with SIGKILL, stops as if Ctrl-C had
been pressed: the Runner checkpoints and exits, and a re-run of the sweep
resumes it instead of racing a leftover process. Elsewhere than on Linux the
program just runs, and survives its launcher.
"""

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
# Exit code when the launcher died before the guard could watch it.
EXIT_PARENT_GONE = 3


def _die_with_parent(sig: int) -> None:
    if not sys.platform.startswith('linux'):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        print(f'child_guard: prctl failed ({os.strerror(ctypes.get_errno())}); '
              f'the experiment will outlive its launcher.', file=sys.stderr)


def main(argv: list) -> None:
    """Arms the parent-death signal, then execs the program in argv[2:]."""
    parent_pid = int(argv[1])
    program = argv[2:]
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent(signal.SIGINT)
    if os.getppid() != parent_pid:
        sys.exit(EXIT_PARENT_GONE)  # Died before the signal was armed.
    sys.stdout.flush()
    os.execv(program[0], program)


if __name__ == '__main__':
    main(sys.argv)
