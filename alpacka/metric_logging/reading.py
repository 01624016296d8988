"""Reads a run's metrics.jsonl back: the one reader of the metrics file.

The sweep summary, ``alpacka.plot``, the benchmarks and the tests read
metrics through ``read_series`` (or ``read_metrics`` for the raw records and
``to_series`` to index them); JsonlLogger (sinks.py) writes the file.
"""

import json
from typing import Dict, Iterable, List, Optional

from alpacka.utils import run_directory

# {name: {step: value}}; value None where a non-finite value was logged.
Series = Dict[str, Dict[int, Optional[float]]]


def read_metrics(path: str, strict: bool = False) -> List[dict]:
    """Reads metrics.jsonl records, skipping a torn line.

    Args:
        path: A metrics.jsonl file.
        strict: Raise on a line that is not JSON instead of skipping it
            (tests use it: a finished run's file has no torn line).

    Returns:
        The records (dicts with ``step``, ``name``, ``value``, ``time``), in
        the order they were logged.

    Raises:
        FileNotFoundError: there is no such file.
        json.JSONDecodeError: strict, and a line is not JSON.
    """
    records = []
    with open(path, encoding='utf-8') as metrics_file:
        for line in metrics_file:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if strict:
                    raise
                # A line cut short by a crash, or being written.
    return records


def to_series(records: Iterable[dict], field: str = 'value') -> Series:
    """Records (see read_metrics) by name and step.

    Args:
        records: metrics.jsonl records, in the order they were logged.
        field: The record field to collect: ``'value'`` (None where the
            logged value was not finite), or ``'time'`` (unix seconds).

    Returns:
        ``{name: {step: field}}``; where a step was logged more than once
        (an epoch redone after a resume), its last record wins.
    """
    series: Series = {}
    for record in records:
        series.setdefault(record['name'], {})[int(record['step'])] = (
            record[field])
    return series


def read_series(output_dir: str, field: str = 'value',
                strict: bool = False) -> Series:
    """Every metric of a run, by name and step (see to_series).

    Args:
        output_dir: The run's output directory.
        field: ``'value'`` or ``'time'``, as in to_series.
        strict: As in read_metrics.

    Returns:
        ``{name: {step: field}}``.

    Raises:
        FileNotFoundError: the run has no metrics.jsonl (yet).
        json.JSONDecodeError: strict, and a line is not JSON.
    """
    return to_series(read_metrics(run_directory.metrics_path(output_dir),
                                  strict), field)
