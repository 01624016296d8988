"""Where metrics go: the terminal and a JSON-lines file."""

import json
import math
import os
import sys
import time
from typing import Any, Optional, TextIO

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
    seconds}``; non-finite values are written as null.

    Args:
        path: The metrics file.
    """

    def __init__(self, path: str):
        self._path = path
        self._file = open(path, 'a', encoding='utf-8')  # pylint: disable=consider-using-with

    @property
    def path(self) -> str:
        """The metrics file."""
        return self._path

    def log_scalar(self, name: str, step: int, value: float) -> None:
        """Appends one record."""
        value = float(value)
        record = {'step': int(step), 'name': name,
                  'value': value if math.isfinite(value) else None,
                  'time': round(time.time(), 3)}
        self._file.write(json.dumps(record) + '\n')

    def log_property(self, name: str, value: Any) -> None:
        """Properties are not written to the metrics file."""
        del name, value

    def flush(self) -> None:
        """Writes buffered records to disk."""
        self._file.flush()

    def close(self) -> None:
        """Closes the file."""
        self._file.close()


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
