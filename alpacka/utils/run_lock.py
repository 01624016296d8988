"""One process per output directory: a lock that dies with its holder.

``RunLock(directory)`` takes ``fcntl.flock`` on ``<directory>/.run.lock``. The
kernel releases a flock when the file's last descriptor closes, so a run
killed outright (SIGKILL, a node failure) never leaves a stale lock behind;
the PID and command line written into the file only serve the message that
refuses a second process. The descriptor is not inherited by child processes
(Python opens it close-on-exec), so Ray workers and sweep experiments do not
hold it: only the process that took it does.

The lock file is removed when the lock is released, so a run that fails to
start leaves an existing directory's files as they were. Unlinking a locked
file races with a process that opened it just before: ``acquire`` therefore
checks that the file it locked is still the one at the path, and retries.

No RL here: the runner, the sweep and anything else may use it.
"""

import errno
import fcntl
import os
import sys
from typing import Optional, Tuple

from alpacka import errors
from alpacka.utils import run_directory


def describe_process(pid: int) -> str:
    """``'process 123 (python3 -m alpacka.runner ...)'``, or without the
    command line where /proc does not show it."""
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as cmdline_file:
            argv = cmdline_file.read().split(b'\0')
        command = ' '.join(arg.decode(errors='replace') for arg in argv if arg)
    except OSError:
        command = ''
    return f'process {pid} ({command})' if command else f'process {pid}'


def _read_holder(path: str) -> Tuple[Optional[int], str]:
    """The PID a lock file names (None if unreadable), and its description."""
    try:
        with open(path, encoding='utf-8') as lock_file:
            pid = int(lock_file.readline().strip())
    except (OSError, ValueError):
        return None, 'another process'
    return pid, describe_process(pid)


def holder(directory: str,
           lock_file: str = run_directory.RUN_LOCK_FILE) -> Optional[str]:
    """Who holds a directory's lock, without taking it or creating files.

    Args:
        directory: A directory a RunLock may hold.
        lock_file: The lock file's name inside directory.

    Returns:
        ``describe_process`` of the holder (``'another process'`` if its PID
        is unreadable), or None if nobody holds the lock.
    """
    path = os.path.join(directory, lock_file)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return _read_holder(path)[1]
    finally:
        os.close(fd)  # Also releases the probe's lock if it got one.
    return None


class RunLock:
    """An exclusive, non-blocking lock on a directory, for the lifetime of a
    run (or a sweep). Use as a context manager or with acquire/release.

    Args:
        directory: The directory to lock; created by acquire if missing.
        what: What holds the lock, for messages (``'run'``, ``'sweep'``).
        lock_file: The lock file's name inside directory.
    """

    def __init__(self, directory: str, what: str = 'run',
                 lock_file: str = run_directory.RUN_LOCK_FILE):
        self._directory = directory
        self._what = what
        self._path = os.path.join(directory, lock_file)
        self._fd: Optional[int] = None

    @property
    def path(self) -> str:
        """The lock file."""
        return self._path

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Takes the lock at once, or refuses.

        Raises:
            OutputDirError: another process holds the lock (the message
                names it: PID and command line), or the directory cannot be
                created or written.
        """
        while self._fd is None:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                os.close(fd)
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise self._unwritable(error) from error
                raise self._in_use() from error
            if not self._is_current(fd):
                # Unlinked by its holder between our open and flock.
                os.close(fd)
                continue
            self._fd = fd
        try:
            os.ftruncate(self._fd, 0)
            os.write(self._fd, f'{os.getpid()}\n{" ".join(sys.argv)}\n'
                     .encode())
        except OSError as error:
            self.release()
            raise self._unwritable(error) from error

    def release(self) -> None:
        """Removes the lock file and releases the lock (if held)."""
        if self._fd is None:
            return
        try:
            os.remove(self._path)
        except OSError:
            pass  # Gone already; the lock still goes with the descriptor.
        os.close(self._fd)
        self._fd = None

    def _open(self) -> int:
        if os.path.exists(self._directory) and not os.path.isdir(
                self._directory):
            raise errors.OutputDirError(
                f'{self._directory} is a file, not a directory. Choose a '
                f'directory (new or one of an earlier run) for --output_dir.')
        try:
            os.makedirs(self._directory, exist_ok=True)
            return os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                           0o644)
        except OSError as error:
            raise self._unwritable(error) from error

    def _is_current(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self._path)
        except FileNotFoundError:
            return False
        locked = os.fstat(fd)
        return (on_disk.st_ino, on_disk.st_dev) == (locked.st_ino,
                                                    locked.st_dev)

    def _in_use(self) -> errors.OutputDirError:
        pid, description = _read_holder(self._path)
        return errors.OutputDirError(
            f'{self._directory} is in use by another {self._what}: '
            f'{description} holds {self._path}. Wait for it to end (or stop it'
            + (f' with kill {pid}' if pid is not None else '') +
            '), or choose another --output_dir; two processes writing one '
            'directory would overwrite each other\'s checkpoints.')

    def _unwritable(self, error: OSError) -> errors.OutputDirError:
        return errors.OutputDirError(
            f'Cannot write to the output directory {self._directory}: '
            f'{error.strerror or error}. Choose a directory you can write '
            f'to with --output_dir.')

    def __enter__(self) -> 'RunLock':
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
