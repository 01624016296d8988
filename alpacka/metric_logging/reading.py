"""Reads a run's metrics.jsonl back: the one reader of the metrics file.

The sweep summary, ``alpacka.plot``, the benchmarks and the tests read
metrics through ``read_series`` (or ``read_metrics`` for the raw records);
JsonlLogger (sinks.py) writes the file.
"""

import json
from typing import Dict, List, Optional

from alpacka.utils import run_directory

# {name: {step: value}}; value None where a non-finite value was logged.
Series = Dict[str, Dict[int, Optional[float]]]


def read_metrics(path: str) -> List[dict]:
    """Reads metrics.jsonl records, skipping a torn last line.

    Args:
        path: A metrics.jsonl file.

    Returns:
        The records (dicts with ``step``, ``name``, ``value``, ``time``), in
        the order they were logged.

    Raises:
        FileNotFoundError: there is no such file.
    """
    records = []
    with open(path, encoding='utf-8') as metrics_file:
        for line in metrics_file:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # A line cut short by a crash, or being written.
    return records


def read_series(output_dir: str, field: str = 'value') -> Series:
    """Every metric of a run, by name and step.

    Args:
        output_dir: The run's output directory.
        field: The record field to collect: ``'value'`` (None where the
            logged value was not finite), or ``'time'`` (unix seconds).

    Returns:
        ``{name: {step: field}}``; where a step was logged more than once
        (an epoch redone after a resume), its last record wins.

    Raises:
        FileNotFoundError: the run has no metrics.jsonl (yet).
    """
    series: Series = {}
    for record in read_metrics(run_directory.metrics_path(output_dir)):
        series.setdefault(record['name'], {})[int(record['step'])] = (
            record[field])
    return series
