"""NeptuneLogger with the real neptune client: offline runs read back from
disk, and the hints when Neptune cannot start."""

import glob
import json
import os

import gin
import pytest

import logging_helpers
from alpacka import metric_logging
from alpacka import runner as runner_lib
from alpacka.utils import run_directory

neptune_operation = pytest.importorskip('neptune.internal.operation')


@pytest.fixture(name='neptune_env')
def fixture_neptune_env(monkeypatch, tmp_path):
    """No Neptune credentials; offline data under tmp_path/neptune_data."""
    for name in ('NEPTUNE_API_TOKEN', 'NEPTUNE_PROJECT', 'NEPTUNE_MODE'):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / 'neptune_data'
    monkeypatch.setenv('NEPTUNE_DATA_DIRECTORY', str(data_dir))
    return monkeypatch, data_dir


def _read_offline_run(data_dir):
    """The operations of the one offline run under data_dir, as dicts.

    The client stores an offline run as JSON lines of operations in
    ``<data dir>/offline/run__<id>__.../data-*.log``, the queue that
    ``neptune sync`` uploads. Each is also parsed by the client's own
    Operation.from_dict, as sync does.
    """
    run_dirs = glob.glob(os.path.join(data_dir, 'offline', 'run__*'))
    assert len(run_dirs) == 1, run_dirs
    operations = []
    for path in sorted(glob.glob(os.path.join(run_dirs[0], 'data-*.log'))):
        with open(path, encoding='utf-8') as log_file:
            for line in log_file:
                operation = json.loads(line)['obj']
                neptune_operation.Operation.from_dict(operation)
                operations.append(operation)
    return operations


def _fields(operations):
    """{path: value} of the fields assigned."""
    return {'/'.join(op['path']): op['value'] for op in operations
            if op['type'].startswith('Assign')}


def _series(operations):
    """{path: [(step, value)]} of the float series (the client's own
    hardware monitoring left out)."""
    series = {}
    for op in operations:
        if op['type'] == 'LogFloats' and op['path'][0] != 'monitoring':
            series.setdefault('/'.join(op['path']), []).extend(
                (point['step'], point['value']) for point in op['values'])
    return series


def test_offline_run_holds_params_and_every_scalar(neptune_env, tmp_path):
    monkeypatch, data_dir = neptune_env
    monkeypatch.setenv('NEPTUNE_MODE', 'offline')
    gin.parse_config(logging_helpers.TINY_RUN)
    output_dir = str(tmp_path / 'tiny_run')
    loggers = metric_logging.setup_loggers(output_dir, neptune=True,
                                           tags=('test', 'tiny'))
    try:
        assert [type(logger) for logger in loggers] == [
            metric_logging.NeptuneLogger]
        assert loggers[0].mode == 'offline'
        runner_lib.Runner(output_dir).run()
    finally:
        metric_logging.close_loggers(loggers)

    operations = _read_offline_run(data_dir)
    fields = _fields(operations)
    assert fields['sys/name'] == 'tiny_run'  # The output directory's name.
    tags = [value for op in operations if op['type'] == 'AddStrings'
            for value in op['values']]
    assert sorted(tags) == ['test', 'tiny']
    # params=None: the Gin bindings parsed before the run, references as text.
    assert fields['parameters/Runner.n_envs'] == 2
    assert fields['parameters/Runner.agent_class'] == (
        '@alpacka.agents.RandomAgent')
    assert fields['properties/output_dir'] == output_dir
    # Every scalar of metrics.jsonl, as a series with the epoch as step.
    expected = {}
    for record in metric_logging.read_metrics(
            run_directory.metrics_path(output_dir), strict=True):
        expected.setdefault(record['name'], []).append(
            (record['step'], record['value']))
    series = _series(operations)
    assert set(expected) <= set(series)
    for name, points in expected.items():
        assert series[name] == points


def test_explicit_params_and_properties(neptune_env):
    _, data_dir = neptune_env
    logger = metric_logging.NeptuneLogger(
        run_name='explicit', params={'lr': 0.5, 'layers': (64, 64),
                                     'scope/Agent.flag': True},
        mode='offline')
    logger.log_property('note', None)
    logger.log_scalar('loss', 3, float('nan'))  # Skipped: not finite.
    logger.log_scalar('loss', 4, 1.5)
    logger.flush()
    logger.close()

    operations = _read_offline_run(data_dir)
    fields = _fields(operations)
    assert fields['parameters/lr'] == 0.5
    assert fields['parameters/layers'] == '(64, 64)'
    assert fields['parameters/scope/Agent.flag'] is True
    assert fields['properties/note'] == 'None'
    assert _series(operations) == {'loss': [(4, 1.5)]}


def test_without_a_token_one_line_hint_and_no_neptune_logger(
        neptune_env, tmp_path, capsys):
    del neptune_env
    loggers = metric_logging.setup_loggers(str(tmp_path), neptune=True,
                                           neptune_project='team/project')
    assert not loggers
    assert not metric_logging.registered_loggers()
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert 'Neptune logging is off' in err and 'NEPTUNE_API_TOKEN' in err
    assert 'NEPTUNE_PROJECT' not in err  # It was given.


def test_invalid_token_one_line_hint(neptune_env, tmp_path, capsys):
    monkeypatch, _ = neptune_env
    monkeypatch.setenv('NEPTUNE_API_TOKEN', 'not-a-token')
    monkeypatch.setenv('NEPTUNE_PROJECT', 'team/project')
    assert not metric_logging.setup_loggers(str(tmp_path), neptune=True)
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert 'Neptune logging is off' in err and 'token' in err.lower()
    assert '\x1b[' not in err  # The client's colours are stripped.
