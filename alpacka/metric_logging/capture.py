"""Metrics logged in another process, carried back and logged again here.

A Ray worker registers a BufferingLogger; whatever its agents (or their
nested batch steppers) log goes into the buffer, the worker returns
``drain()`` with its episodes, and the driver calls ``replay`` so that the
records reach the driver's loggers (stdout, metrics.jsonl, TensorBoard,
Neptune) as if they had been logged there.
"""

from typing import Any, List, NamedTuple, Optional, Sequence

from alpacka.metric_logging import api


class Record(NamedTuple):
    """One logging call: a scalar (step is an int) or a property (step None)."""
    name: str
    step: Optional[int]
    value: Any


class BufferingLogger:
    """Keeps every logged scalar and property until drained."""

    def __init__(self):
        self._records: List[Record] = []

    def log_scalar(self, name: str, step: int, value: float) -> None:
        """Buffers a scalar.

        Args:
            name: Metric name.
            step: Its step.
            value: Its value (stored as a float).
        """
        self._records.append(Record(name, int(step), float(value)))

    def log_property(self, name: str, value: Any) -> None:
        """Buffers a property.

        Args:
            name: Property name.
            value: Its value (must be picklable to cross processes).
        """
        self._records.append(Record(name, None, value))

    def drain(self) -> List[Record]:
        """Takes the buffered records out.

        Returns:
            The records since the last drain, in logging order.
        """
        records, self._records = self._records, []
        return records


def replay(records: Sequence[Record]) -> None:
    """Logs records to this process's registered loggers, in order.

    Args:
        records: As returned by BufferingLogger.drain.
    """
    for record in records:
        if record.step is None:
            api.log_property(record.name, record.value)
        else:
            api.log_scalar(record.name, record.step, record.value)
