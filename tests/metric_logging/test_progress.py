"""The progress bar: on a terminal only, and never in the way of the lines."""

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest

import logging_helpers
from alpacka import metric_logging
from alpacka.metric_logging import progress

METRIC_LINE = re.compile(r'^ +\d+ \| \S+ +-?\d+\.\d{4}$')


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self):
        return True


def _metric_names(lines):
    """The metric names of the metric lines among lines."""
    return [line.split('|')[1].split()[0] for line in lines
            if METRIC_LINE.match(line)]


def _visible_lines(text):
    """What a terminal shows of each line: the text after its last \\r."""
    return [line.rsplit('\r', 1)[-1] for line in text.split('\n')]


def test_is_terminal_decision():
    assert progress.is_terminal(FakeTerminal())
    assert not progress.is_terminal(io.StringIO())
    assert not progress.is_terminal(None)
    with open(os.devnull, 'w', encoding='utf-8') as closed_file:
        pass
    assert not progress.is_terminal(closed_file)  # isatty() raises ValueError.


def test_no_bar_and_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    logger = metric_logging.StdoutLogger(stream)
    with metric_logging.epoch_progress(total=2, stream=stream) as epochs:
        logger.log_scalar('episode/return_mean', 0, 12.5)
        epochs.update()
        logger.log_property('seed', 3)
    assert not epochs.shown
    assert stream.getvalue() == (
        '     0 | episode/return_mean                       12.5000\n'
        'seed: 3\n')


def test_bar_on_a_terminal_keeps_metric_lines_whole():
    stream = FakeTerminal()
    logger = metric_logging.StdoutLogger(stream)
    metric_logging.register_logger(logger)
    try:
        with metric_logging.epoch_progress(total=2, stream=stream) as epochs:
            assert epochs.shown
            for epoch in range(2):
                metric_logging.log_scalar('episode/return_mean', epoch,
                                          10.0 + epoch)
                metric_logging.log_scalar('counters/env_steps', epoch,
                                          1000.0 * (epoch + 1))
                epochs.update()
    finally:
        metric_logging.unregister_logger(logger)

    lines = [line for line in _visible_lines(stream.getvalue()) if line]
    metric_lines = [line for line in lines if METRIC_LINE.match(line)]
    assert metric_lines == [
        '     0 | episode/return_mean                       10.0000',
        '     0 | counters/env_steps                      1000.0000',
        '     1 | episode/return_mean                       11.0000',
        '     1 | counters/env_steps                      2000.0000']
    # Every other visible line is the bar; its final state is left on screen.
    assert all(line.startswith('epochs:') for line in lines
               if line not in metric_lines)
    assert '2/2' in lines[-1]
    assert 'return=11.00' in lines[-1] and 'env_steps=2,000' in lines[-1]
    # The bar's logger is gone with the bar.
    assert not any(isinstance(registered, progress.EpochProgress)
                   for registered in metric_logging.registered_loggers())


def _cli_command(tmp_path, output_name):
    config = tmp_path / 'small.gin'
    config.write_text(logging_helpers.TINY_RUN, encoding='utf-8')
    return [sys.executable, '-m', 'alpacka.runner', f'--config_file={config}',
            f'--output_dir={tmp_path / output_name}']


def _cli_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    env.pop('TQDM_DISABLE', None)
    return env


def _run_cli_piped(command):
    return subprocess.run(command, cwd=logging_helpers.REPO_ROOT,
                          env=_cli_env(), capture_output=True, text=True,
                          timeout=60, check=False)


def _run_cli_on_a_terminal(command):
    """Runs the CLI with stdout on a pseudo-terminal; returns (code, stdout)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 120, 0, 0))
    with subprocess.Popen(command, cwd=logging_helpers.REPO_ROOT,
                          env=_cli_env(), stdin=subprocess.DEVNULL,
                          stdout=slave, stderr=subprocess.DEVNULL) as process:
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal.
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        code = process.wait(timeout=60)
    # The terminal turns \n into \r\n.
    return code, b''.join(chunks).decode().replace('\r\n', '\n')


@pytest.mark.timeout(120)
def test_cli_on_a_terminal_shows_a_bar_and_whole_lines(tmp_path):
    code, terminal_output = _run_cli_on_a_terminal(
        _cli_command(tmp_path, 'on_terminal'))
    piped = _run_cli_piped(_cli_command(tmp_path, 'piped'))

    assert code == 0 and piped.returncode == 0
    assert 'epochs: 100%' in terminal_output and '2/2' in terminal_output
    # Piped: exactly the metric lines, no bar, no carriage returns.
    piped_lines = piped.stdout.splitlines()
    assert piped_lines and all(METRIC_LINE.match(line) for line in piped_lines)
    assert '\r' not in piped.stdout and 'epochs' not in piped.stdout
    # On the terminal the same lines show, whole, in the same order.
    assert _metric_names(_visible_lines(terminal_output)) == _metric_names(
        piped_lines)
