"""metric_logging.reading: the one reader of a run's metrics.jsonl."""

import json
import math

import pytest

from alpacka import metric_logging
from alpacka.utils import run_directory


def _log(output_dir, *scalars):
    logger = metric_logging.JsonlLogger(run_directory.metrics_path(output_dir))
    for name, step, value in scalars:
        logger.log_scalar(name, step, value)
    logger.close()


def test_series_of_what_the_jsonl_logger_wrote(tmp_path):
    _log(tmp_path, ('episode/return_mean', 0, 1.5), ('train/loss', 0, 2.0),
         ('episode/return_mean', 1, 3.0), ('train/loss', 1, math.inf))
    series = metric_logging.read_series(tmp_path)
    assert series == {'episode/return_mean': {0: 1.5, 1: 3.0},
                      'train/loss': {0: 2.0, 1: None}}
    times = metric_logging.read_series(tmp_path, field='time')
    assert set(times['train/loss']) == {0, 1}
    assert all(isinstance(time, float) for time in times['train/loss'].values())


def test_the_last_record_of_a_step_wins(tmp_path):
    # A resumed run redoes epochs after its checkpoint.
    _log(tmp_path, ('episode/count', 1, 8.0), ('episode/count', 1, 4.0))
    assert metric_logging.read_series(tmp_path) == {'episode/count': {1: 4.0}}


def test_a_torn_last_line_is_skipped_unless_strict(tmp_path):
    _log(tmp_path, ('episode/count', 0, 8.0))
    with open(run_directory.metrics_path(tmp_path), 'a',
              encoding='utf-8') as metrics_file:
        metrics_file.write('{"step": 1, "name": "episo')
    assert metric_logging.read_series(tmp_path) == {'episode/count': {0: 8.0}}
    with pytest.raises(json.JSONDecodeError):
        metric_logging.read_series(tmp_path, strict=True)


def test_a_run_without_metrics_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        metric_logging.read_series(tmp_path)


def test_to_series_indexes_records():
    records = [{'step': 0, 'name': 'a', 'value': 1.0, 'time': 5.0},
               {'step': 2, 'name': 'a', 'value': None, 'time': 6.0}]
    assert metric_logging.to_series(records) == {'a': {0: 1.0, 2: None}}
    assert metric_logging.to_series(records, 'time') == {'a': {0: 5.0, 2: 6.0}}
