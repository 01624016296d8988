"""TensorBoard sink: event files for ``tensorboard --logdir <output_dir>``.

TensorFlow is imported when a TensorBoardLogger is made, never before, and
quietly: the C++ runtime's start-up lines (which ignore TF_CPP_MIN_LOG_LEVEL)
are dropped unless TF_CPP_MIN_LOG_LEVEL is set to 0.
"""

import contextlib
import importlib
import logging
import os
import sys
from typing import Any, Iterator

# Subdirectory of the run's output directory that holds the event files.
TENSORBOARD_DIR = 'tensorboard'


@contextlib.contextmanager
def _fd2_silenced() -> Iterator[None]:
    """Points file descriptor 2 at /dev/null for the duration (if it can)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # No usable stderr.
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_tensorflow() -> Any:
    """Imports TensorFlow without its start-up noise; returns the module."""
    if 'tensorflow' in sys.modules:
        return sys.modules['tensorflow']
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    quiet = os.environ['TF_CPP_MIN_LOG_LEVEL'] not in ('', '0')
    with _fd2_silenced() if quiet else contextlib.nullcontext():
        tf = importlib.import_module('tensorflow')
    logging.getLogger('tensorflow').setLevel(logging.ERROR)
    return tf


class TensorBoardLogger:
    """Writes scalars and properties as TensorBoard summaries.

    Scalars become scalar summaries (one chart per name, the Runner's epoch
    on the x axis); properties become text summaries at step 0. Events are
    buffered by TensorFlow and written on ``flush()`` (the Runner flushes
    after every epoch) and ``close()``.

    Args:
        log_dir: Directory for the event files (created if missing); the
            Runner's convention is ``<output_dir>/tensorboard``.

    Raises:
        ImportError: TensorFlow or the tensorboard package is not installed.
    """

    def __init__(self, log_dir: str):
        tf = _import_tensorflow()
        try:
            importlib.import_module('tensorboard')
        except ImportError as error:
            raise ImportError(
                'TensorBoard logging needs the tensorboard package (tf.summary '
                'is implemented there): pip install tensorboard') from error
        self._tf = tf
        self._log_dir = log_dir
        self._writer = tf.summary.create_file_writer(log_dir)

    @property
    def log_dir(self) -> str:
        """The directory of the event files."""
        return self._log_dir

    def log_scalar(self, name: str, step: int, value: float) -> None:
        """Writes one scalar summary.

        Args:
            name: Summary tag, e.g. ``episode/return_mean``.
            step: Its step.
            value: Its value.
        """
        with self._writer.as_default():
            self._tf.summary.scalar(name, float(value), step=int(step))

    def log_property(self, name: str, value: Any) -> None:
        """Writes a text summary ``name`` holding ``str(value)`` at step 0.

        Args:
            name: Summary tag.
            value: Any value; its str() is written.
        """
        with self._writer.as_default():
            self._tf.summary.text(name, str(value), step=0)

    def flush(self) -> None:
        """Writes buffered events to disk."""
        self._writer.flush()

    def close(self) -> None:
        """Flushes and closes the event file."""
        self._writer.close()
