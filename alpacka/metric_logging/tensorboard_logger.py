"""TensorBoard sink: event files for ``tensorboard --logdir <output_dir>``.

TensorFlow is imported when a TensorBoardLogger is made, never before, and
quietly: the C++ runtime's start-up lines (which ignore TF_CPP_MIN_LOG_LEVEL)
are dropped unless TF_CPP_MIN_LOG_LEVEL is set to 0.
"""

import importlib
from typing import Any

from alpacka.utils import run_directory
from alpacka.utils import tensorflow_import

# Subdirectory of the run's output directory that holds the event files
# (an alias: alpacka.utils.run_directory names it).
TENSORBOARD_DIR = run_directory.TENSORBOARD_DIR


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
        tf = tensorflow_import.import_tensorflow()[0]
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
