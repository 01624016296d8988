"""python3 -m alpacka.plot --aggregate iqm --x env_steps --at ...: the figure,
the table of estimates, a real run's metrics, and a paragraph per bad flag."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from run_files import ENV_STEPS, METRIC, write_run

from alpacka import plot
from alpacka.metric_logging import aggregation

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# Setting 8: 8 seeds over 3 epochs of 1000 env steps; setting 32: 2 seeds
# over 2 epochs.
EIGHT = [[0.0, 1, 2, 3, 10, 20, 30, 1000], [0.0, 2, 4, 6, 20, 40, 60, 2000],
         [100.0, 101, 102, 103, 110, 120, 130, 140]]
TWO = [[5.0, 6.0], [7.0, 9.0]]
CELL = re.compile(r'(\S+) \[(\S+), (\S+)\] \((\d+)\)')


@pytest.fixture(name='sweep')
def fixture_sweep(tmp_path):
    """Two settings of ShootingAgent.n_rollouts, 10 runs."""
    for n_rollouts, table in ((8, EIGHT), (32, TWO)):
        for seed, returns in enumerate(zip(*table)):
            write_run(tmp_path / 'sweep' / f'{n_rollouts}_{seed}',
                      {METRIC: list(returns),
                       ENV_STEPS: [1000.0 * (epoch + 1)
                                   for epoch in range(len(returns))]},
                      {'ShootingAgent.n_rollouts': n_rollouts})
    return str(tmp_path / 'sweep')


def _main(capsys, *argv):
    code = plot.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _cells(line):
    return [cell.strip() for cell in line.strip('|').split('|')]


def test_at_prints_the_statistic_and_interval_per_group(sweep, tmp_path,
                                                        capsys):
    code, out, err = _main(capsys, sweep, '--group_by', 'n_rollouts',
                           '--aggregate', 'iqm', '--x', 'env_steps',
                           '--at', 1000, 1500, 3000, 9000,
                           '--output', tmp_path / 'iqm.png')
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (f'Wrote {tmp_path / "iqm.png"}: {METRIC} of 10 runs '
                        f'in 2 curves.')
    assert lines[1] == (f'IQM of {METRIC} at {ENV_STEPS}: IQM [95% bootstrap '
                        f'CI] (runs with a value there)')
    assert _cells(lines[2]) == ['n_rollouts', 'runs', '1000', '1500', '3000',
                                '9000']
    eight, thirty_two = _cells(lines[4]), _cells(lines[5])
    assert eight[:2] == ['8', '8'] and thirty_two[:2] == ['32', '2']
    # By hand: at 1000 the middle four of epoch 0; at 1500 each run halfway
    # between epochs 0 and 1, i.e. 1.5 x epoch 0; at 3000 epoch 2.
    expected = [(2 + 3 + 10 + 20) / 4, 1.5 * (2 + 3 + 10 + 20) / 4,
                (102 + 103 + 110 + 120) / 4]
    scores = [EIGHT[0], [1.5 * value for value in EIGHT[0]], EIGHT[2]]
    for text, point, column in zip(eight[2:5], expected, scores):
        value, low, high, n_runs = CELL.fullmatch(text).groups()
        assert float(value) == pytest.approx(point, rel=1e-3)  # 4 digits.
        assert n_runs == '8'
        estimate = aggregation.interval_estimate(column, 'iqm')
        assert float(low) == pytest.approx(estimate.low, rel=1e-3)
        assert float(high) == pytest.approx(estimate.high, rel=1e-3)
        assert float(low) <= float(value) <= float(high)
    assert eight[5] == 'no runs'
    # Two runs: the IQM is their mean; nothing beyond their last epoch.
    value, _, _, n_runs = CELL.fullmatch(thirty_two[2]).groups()
    assert float(value) == pytest.approx((5 + 6) / 2) and n_runs == '2'
    assert thirty_two[3].startswith(f'{(5.5 + 8) / 2:g} [')  # Halfway.
    assert thirty_two[4:] == [
        'no runs', 'no runs']


def test_a_cell_counts_only_the_runs_that_reach_it(tmp_path, capsys):
    for seed, steps in enumerate(([1000.0, 2000.0], [1000.0, 2000.0, 3000.0],
                                  [1500.0, 3000.0])):
        write_run(tmp_path / 'runs' / str(seed),
                  {METRIC: [float(seed)] * len(steps), ENV_STEPS: steps},
                  {'Runner.n_envs': 2})
    code, out, err = _main(capsys, tmp_path / 'runs', '--group_by', 'n_envs',
                           '--aggregate', 'median', '--x', 'env_steps',
                           '--at', 1000, 2500, '--output', tmp_path / 'm.png')
    assert code == 0, err
    row = _cells(out.splitlines()[-1])
    assert row[:2] == ['2', '3']
    assert row[2] == '0.5 [0, 1] (2)'  # Run 2 starts at 1500.
    assert row[3] == '1.5 [1, 2] (2)'  # Run 0 ends at 2000.


def test_the_figure_is_written_and_reproducible(sweep, tmp_path, capsys):
    figure = tmp_path / 'iqm.png'
    args = (sweep, '--group_by', 'ShootingAgent.n_rollouts', '--aggregate',
            'iqm', '--x', 'env_steps', '--output', figure)
    assert _main(capsys, *args)[0] == 0
    drawn = figure.read_bytes()
    assert drawn[:8] == b'\x89PNG\r\n\x1a\n' and len(drawn) > 15_000
    assert _main(capsys, *args)[0] == 0
    assert figure.read_bytes() == drawn  # Seeded bootstrap: the same figure.


@pytest.mark.parametrize('flags,expected', [
    (['--confidence', '95'], '--confidence 95 is not in (0, 1): give the '
                             'interval\'s coverage as a fraction'),
    (['--bootstrap_reps', '0'], '--bootstrap_reps 0 is not in [1, 100000]'),
    (['--at', '2000', 'nan'], '--at nan: the x values of the table must be '
                              'finite numbers'),
    (['--x', 'counters/env_step'], "No run logged the x metric (--x) "
                                   "'counters/env_step' (10 runs read). Close "
                                   "names: counters/env_steps"),
], ids=['confidence', 'bootstrap_reps', 'at', 'x'])
def test_a_bad_flag_is_one_paragraph_and_writes_nothing(sweep, tmp_path,
                                                        capsys, flags,
                                                        expected):
    code, out, err = _main(capsys, sweep, '--aggregate', 'iqm', *flags,
                           '--output', tmp_path / 'x.png')
    assert code == 2
    assert err.startswith('alpacka.plot: error: ') and expected in err
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert not out and not (tmp_path / 'x.png').exists()


def test_an_unknown_statistic_or_spread_is_refused(sweep, capsys):
    for flags in (['--aggregate', 'mode'], ['--spread', 'iqr']):
        with pytest.raises(SystemExit) as exit_info:
            plot.main([sweep, *flags])
        assert exit_info.value.code == 2
        assert 'invalid choice' in capsys.readouterr().err
    with pytest.raises(plot.PlotError, match='--aggregate must be one of'):
        plot.learning_curves([sweep], METRIC, statistic='mode')


def _run(*args, module='alpacka.runner'):
    return subprocess.run(
        [sys.executable, '-m', module, *args], cwd=REPO_ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'), capture_output=True,
        text=True, timeout=120, check=False)


def test_real_runs_of_different_epoch_sizes_against_env_steps(tmp_path):
    config = tmp_path / 'random.gin'
    config.write_text('Runner.env_class = @alpacka.envs.CartPole\n'
                      'Runner.agent_class = @alpacka.agents.RandomAgent\n'
                      'Runner.episode_time_limit = 20\n'
                      'Runner.n_epochs = 3\n', encoding='utf-8')
    for n_envs in (2, 3):
        result = _run(f'--config_file={config}',
                      f'--output_dir={tmp_path / "runs" / str(n_envs)}',
                      f'--config=Runner.n_envs={n_envs}',
                      '--config=Runner.seed=0')
        assert result.returncode == 0, result.stderr
    output = tmp_path / 'cartpole.png'
    result = _run(str(tmp_path / 'runs'), '--group_by',
                  'Runner.episode_time_limit', '--aggregate', 'iqm', '--x',
                  'env_steps', '--at', '20', '--output', str(output),
                  module='alpacka.plot')
    assert result.returncode == 0, result.stderr
    assert 'of 2 runs in 1 curves' in result.stdout
    assert output.read_bytes()[:4] == b'\x89PNG'
    curves = [plot.read_curve(str(tmp_path / 'runs' / str(n_envs)), METRIC,
                              ENV_STEPS) for n_envs in (2, 3)]
    curve, = plot.learning_curves([str(tmp_path / 'runs')], METRIC,
                                  group_by='episode_time_limit',
                                  statistic='iqm', x='env_steps')
    # Every epoch of both runs is a point, at its env steps.
    np.testing.assert_array_equal(
        curve.xs, np.unique(np.concatenate([xs for xs, _ in curves])))
    assert len(curve.xs) > 3
    row = _cells(result.stdout.splitlines()[-1])
    assert row[:2] == ['20', '2']
