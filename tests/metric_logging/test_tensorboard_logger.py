"""TensorBoardLogger: event files that TensorBoard reads back."""

import glob
import os
import subprocess
import sys

import gin
import pytest

import logging_helpers
from alpacka import metric_logging
from alpacka import runner as runner_lib
from alpacka.utils import run_directory

# tensorboard's reader; skip (not fail) where TensorBoard is not installed.
event_accumulator = pytest.importorskip(
    'tensorboard.backend.event_processing.event_accumulator')
tensor_util = pytest.importorskip('tensorboard.util.tensor_util')


def _read_events(log_dir):
    """{tag: [(step, value)]} of every summary in log_dir's event files."""
    accumulator = event_accumulator.EventAccumulator(
        log_dir, size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    return {tag: [(event.step, tensor_util.make_ndarray(event.tensor_proto)
                   .item()) for event in accumulator.Tensors(tag)]
            for tag in accumulator.Tags()['tensors']}


def test_scalars_and_properties_read_back(tmp_path):
    log_dir = str(tmp_path / 'tensorboard')
    logger = metric_logging.TensorBoardLogger(log_dir)
    logger.log_scalar('episode/return_mean', 0, 12.5)
    logger.log_scalar('episode/return_mean', 1, 20.0)
    logger.log_scalar('train/loss', 1, 0.25)
    logger.log_property('seed', 7)
    logger.flush()
    logger.close()

    assert glob.glob(os.path.join(log_dir, 'events.out.tfevents.*'))
    events = _read_events(log_dir)
    assert events['episode/return_mean'] == [(0, 12.5), (1, 20.0)]
    assert events['train/loss'] == [(1, 0.25)]
    assert events['seed'] == [(0, b'7')]


def test_setup_loggers_logs_a_runner_to_output_dir_tensorboard(tmp_path):
    gin.parse_config(logging_helpers.TINY_RUN)
    output_dir = str(tmp_path / 'run')
    loggers = metric_logging.setup_loggers(output_dir, tensorboard=True)
    try:
        assert [type(logger) for logger in loggers] == [
            metric_logging.TensorBoardLogger]
        assert loggers[0] in metric_logging.registered_loggers()
        runner_lib.Runner(output_dir).run()
    finally:
        metric_logging.close_loggers(loggers)
    assert loggers[0] not in metric_logging.registered_loggers()

    events = _read_events(run_directory.tensorboard_dir(output_dir))
    jsonl = {}
    for record in metric_logging.read_metrics(
            run_directory.metrics_path(output_dir), strict=True):
        jsonl.setdefault(record['name'], []).append(
            (record['step'], record['value']))
    # The same scalars as metrics.jsonl (TensorBoard stores float32).
    assert set(events) == set(jsonl)
    for name, points in jsonl.items():
        assert [step for step, _ in events[name]] == [s for s, _ in points]
        assert [value for _, value in events[name]] == pytest.approx(
            [value for _, value in points], rel=1e-6)


def test_importing_alpacka_and_setting_up_no_sink_imports_no_tf_or_neptune(
        tmp_path):
    code = ('import sys, alpacka, alpacka.plot\n'
            'from alpacka import metric_logging\n'
            f'assert metric_logging.setup_loggers({str(tmp_path)!r}) == []\n'
            'heavy = [name for name in ("tensorflow", "neptune", "ray", '
            '"tqdm", "matplotlib") if name in sys.modules]\n'
            'assert not heavy, heavy\n')
    subprocess.run([sys.executable, '-c', code], check=True)
