"""Writing files so that a crash at any instant leaves the old or the new one whole."""

import contextlib
import os
import shutil
import tempfile
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'wb',
                 durable: bool = True) -> Iterator[IO]:
    """Opens a temporary file that replaces ``path`` only when closed cleanly.

    The data is flushed and fsync-ed before the rename, and the directory is
    fsync-ed after it, so neither a crash nor a power cut leaves a torn file.

    Args:
        path: Destination file.
        mode: 'wb' or 'w'.
        durable: False skips the fsyncs: a crash of the process still leaves
            the old or the new file whole, a power cut may not (for many
            small files that can be written again, e.g. trace images).

    Yields:
        The open temporary file.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=directory,
                                    prefix='.' + os.path.basename(path) + '.',
                                    suffix='.tmp')
    try:
        # mkstemp creates the file 0600; give it the usual permissions.
        os.chmod(tmp_path, 0o666 & ~_current_umask())
        with os.fdopen(fd, mode) as tmp_file:
            yield tmp_file
            tmp_file.flush()
            if durable:
                os.fsync(tmp_file.fileno())
        os.replace(tmp_path, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
        if isinstance(error, OSError) and error.filename is None:
            # A failed write() names no file; name the one being replaced.
            error.filename = path
        raise
    if durable:
        fsync_directory(directory)


def remove_stale_temp_files(directory: str) -> None:
    """Deletes temporary files that a killed atomic_write left in directory.

    Only call this where no other process writes to directory.
    """
    for entry in os.listdir(directory):
        if entry.startswith('.') and entry.endswith('.tmp'):
            path = os.path.join(directory, entry)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)


def fsync_directory(directory: str) -> None:
    """Makes a rename or creation inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
