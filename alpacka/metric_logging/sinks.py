"""Where metrics go: the terminal and a JSON-lines file."""

import json
import math
import os
import sys
import time
from typing import Any, Optional, TextIO

from alpacka import errors
from alpacka.metric_logging import progress
from alpacka.metric_logging.reading import read_metrics
from alpacka.utils import atomic_files


class StdoutLogger:
    """Prints one aligned line per scalar.

    While a progress bar is shown (see progress.epoch_progress) the lines go
    above it; otherwise they are plain prints.

    Args:
        stream: Where to print (default sys.stdout, looked up at each call so
            test capture works).
    """

    def __init__(self, stream: Optional[TextIO] = None):
        self._stream = stream

    def _out(self) -> TextIO:
        return self._stream or sys.stdout

    def log_scalar(self, name: str, step: int, value: float) -> None:
        """Prints ``step | name value``."""
        progress.write_line(f'{step:>6} | {name:<36} {value:>12.4f}',
                            self._out())

    def log_property(self, name: str, value: Any) -> None:
        """Prints ``name: value``."""
        progress.write_line(f'{name}: {value}', self._out())

    def flush(self) -> None:
        """Flushes the stream, so piped output shows epoch by epoch."""
        self._out().flush()


class JsonlLogger:
    """Appends one JSON object per scalar to ``<output_dir>/metrics.jsonl``.

    Each line is ``{"step": int, "name": str, "value": float, "time": unix
    seconds}``; non-finite values are written as null. A write that fails (a
    full disk, a file-size limit) raises MetricsWriteError; the records of
    the failed epoch may be torn, and a resumed run rewrites them.

    Args:
        path: The metrics file.
    """

    def __init__(self, path: str):
        self._path = path
        self._file = open(path, 'a', encoding='utf-8')  # pylint: disable=consider-using-with
        self._failed = False

    @property
    def path(self) -> str:
        """The metrics file."""
        return self._path

    def _write_error(self, error: OSError) -> errors.MetricsWriteError:
        self._failed = True
        return errors.MetricsWriteError(
            f'writing {self._path} failed ({error.strerror or error}); the '
            f'metrics of this epoch may be incomplete.')

    def log_scalar(self, name: str, step: int, value: float) -> None:
        """Appends one record.

        Raises:
            MetricsWriteError: the file cannot be written.
        """
        value = float(value)
        record = {'step': int(step), 'name': name,
                  'value': value if math.isfinite(value) else None,
                  'time': round(time.time(), 3)}
        try:
            self._file.write(json.dumps(record) + '\n')
        except OSError as error:
            raise self._write_error(error) from error

    def log_property(self, name: str, value: Any) -> None:
        """Properties are not written to the metrics file."""
        del name, value

    def flush(self) -> None:
        """Writes buffered records to disk.

        Raises:
            MetricsWriteError: the file cannot be written.
        """
        try:
            self._file.flush()
        except OSError as error:
            raise self._write_error(error) from error

    def close(self) -> None:
        """Closes the file (quietly after a failed write, already reported)."""
        try:
            self._file.close()
        except OSError as error:
            if not self._failed:
                raise self._write_error(error) from error


def truncate_metrics(path: str, before_step: int) -> None:
    """Drops records with step >= before_step (epochs a resumed run redoes).

    Args:
        path: A metrics.jsonl file (nothing happens if it does not exist).
        before_step: First step to drop.
    """
    if not os.path.exists(path):
        return
    kept = [record for record in read_metrics(path)
            if record['step'] < before_step]
    with atomic_files.atomic_write(path, 'w') as metrics_file:
        for record in kept:
            metrics_file.write(json.dumps(record) + '\n')
