"""python3 -m alpacka.plot: learning curves of fake runs written here."""

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from alpacka import plot

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
METRIC = 'episode/return_mean'
# (n_rollouts, seed) -> returns per epoch; seed 2 of n_rollouts=8 is shorter.
RUNS = {
    (8, 0): [10.0, 20.0, 30.0],
    (8, 1): [14.0, 22.0, 38.0],
    (8, 2): [12.0, 30.0],
    (32, 0): [40.0, 60.0, 80.0],
    (32, 1): [50.0, 70.0, 90.0],
}


def _write_run(run_dir, n_rollouts, returns, extra_metric=True):
    os.makedirs(run_dir)
    with open(os.path.join(run_dir, 'metrics.jsonl'), 'w',
              encoding='utf-8') as metrics_file:
        for step, value in enumerate(returns):
            for name, logged in ((METRIC, value), ('time/epoch_s', 0.5)):
                if name == METRIC or extra_metric:
                    metrics_file.write(json.dumps({
                        'step': step, 'name': name, 'value': logged,
                        'time': 1.0}) + '\n')
    with open(os.path.join(run_dir, 'config.gin'), 'w',
              encoding='utf-8') as config_file:
        config_file.write(
            '# Parameters for ShootingAgent:\n'
            'ShootingAgent.agent_class = @alpacka.agents.RandomAgent\n'
            f'ShootingAgent.n_rollouts = {n_rollouts}\n'
            'Runner.n_envs = 4\n')


@pytest.fixture(name='sweep')
def fixture_sweep(tmp_path):
    """A sweep directory of 5 runs (and a stray hidden dir with none)."""
    sweep = tmp_path / 'sweep'
    for (n_rollouts, seed), returns in RUNS.items():
        _write_run(sweep / f'rollouts_{n_rollouts}' / f'seed_{seed}',
                   n_rollouts, returns)
    os.makedirs(sweep / '.neptune')
    return str(sweep)


def _run_cli(*args):
    return subprocess.run([sys.executable, '-m', 'alpacka.plot', *args],
                          cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def _png_size(path):
    """(width, height) of a PNG; checks the signature."""
    with open(path, 'rb') as png:
        header = png.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n'
    assert header[12:16] == b'IHDR'
    return struct.unpack('>II', header[16:24])


def test_cli_writes_a_png_of_grouped_curves(sweep, tmp_path):
    output = str(tmp_path / 'figures' / 'rollouts.png')
    result = _run_cli(sweep, '--metric', METRIC, '--group_by',
                      'ShootingAgent.n_rollouts', '--output', output)
    assert result.returncode == 0, result.stderr
    assert 'of 5 runs in 2 curves' in result.stdout
    assert _png_size(output) == (800, 500)
    assert os.path.getsize(output) > 15_000  # Lines, fills, text: not blank.


def test_groups_mean_and_min_max_spread(sweep):
    curves = plot.learning_curves([sweep], METRIC,
                                  group_by='ShootingAgent.n_rollouts')
    assert [curve.label for curve in curves] == ['8', '32']  # Numeric order.
    small, large = curves
    assert [os.path.basename(run) for run in small.runs] == [
        'seed_0', 'seed_1', 'seed_2']
    np.testing.assert_array_equal(small.steps, [0, 1, 2])
    np.testing.assert_allclose(small.mean, [12.0, 24.0, 34.0])  # Step 2: 2 runs.
    np.testing.assert_allclose(small.low, [10.0, 20.0, 30.0])
    np.testing.assert_allclose(small.high, [14.0, 30.0, 38.0])
    np.testing.assert_allclose(large.mean, [45.0, 65.0, 85.0])


def test_std_spread_and_a_short_group_name(sweep):
    curves = plot.learning_curves([sweep], METRIC, group_by='n_rollouts',
                                  spread='std')
    large = curves[1]
    np.testing.assert_allclose(large.low, [40.0, 60.0, 80.0])  # std 5.
    np.testing.assert_allclose(large.high, [50.0, 70.0, 90.0])


def test_without_group_by_one_curve_per_run_and_run_dirs_mix(sweep, tmp_path):
    single = tmp_path / 'single'
    _write_run(single, 4, [1.0, 2.0])
    curves = plot.learning_curves(
        [os.path.join(sweep, 'rollouts_32'), str(single)], METRIC)
    assert len(curves) == 3
    assert all(len(curve.runs) == 1 for curve in curves)
    np.testing.assert_allclose(curves[2].mean, [1.0, 2.0])


def test_missing_metric_is_a_clear_error(sweep, tmp_path):
    result = _run_cli(sweep, '--metric', 'episode/return_maen',
                      '--output', str(tmp_path / 'x.png'))
    assert result.returncode == 2
    assert "No run logged the metric 'episode/return_maen'" in result.stderr
    assert 'episode/return_mean' in result.stderr  # Suggested.
    assert 'Traceback' not in result.stderr
    assert not os.path.exists(tmp_path / 'x.png')


def test_no_runs_is_a_clear_error(tmp_path):
    empty = tmp_path / 'empty'
    os.makedirs(empty)
    result = _run_cli(str(empty), '--output', str(tmp_path / 'x.png'))
    assert result.returncode == 2
    assert 'No run in' in result.stderr and 'metrics.jsonl' in result.stderr
    result = _run_cli(str(tmp_path / 'missing'))
    assert result.returncode == 2 and 'is not a directory' in result.stderr


def test_unknown_group_by_suggests_a_binding(sweep):
    with pytest.raises(plot.PlotError, match="Did you mean 'ShootingAgent"):
        plot.learning_curves([sweep], METRIC, group_by='ShootingAgent.nrollouts')


def test_runs_without_the_metric_are_left_out_with_a_note(sweep, tmp_path,
                                                         capsys):
    no_returns = tmp_path / 'sweep' / 'rollouts_8' / 'seed_9'
    os.makedirs(no_returns)
    (no_returns / 'metrics.jsonl').write_text('', encoding='utf-8')
    curves = plot.learning_curves([sweep], METRIC, group_by='n_rollouts')
    assert [len(curve.runs) for curve in curves] == [3, 2]
    assert 'seed_9' in capsys.readouterr().err
