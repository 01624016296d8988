"""Tests of benchmarks/harness.py: real runs, real peer processes, and the
aggregate tables against values computed by hand."""

import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), 'benchmarks'))
import harness  # pylint: disable=import-error,wrong-import-position

# A peer stand-in: a real process printing the peers' JSON protocol, with
# returns that depend on the seed.
_PEER = ('import json, sys; seed = int(sys.argv[-1]); '
         '[print(json.dumps({"steps": s, "eval_return": -s / 10 + seed, '
         '"train_s": s / 100})) for s in (500, 1000, 1500)]; '
         'print(json.dumps({"done": True, "steps": 1500, "train_s": 15.0}))')


def _peer(name='peer', code=_PEER):
    return harness.peer_side(name, sys.executable, '-c', [code, '--seed'])


def test_peer_runs_are_read_and_kept_in_results(tmp_path):
    side = harness.Side('peer', lambda seed, run_dir: [
        sys.executable, '-c', _PEER, str(seed)], _peer().read)
    results = harness.Results(str(tmp_path))
    assert not harness.run_all([side], [0, 3], results, jobs=2)
    assert results.points('peer', 3) == [
        {'steps': 500, 'eval_return': -47.0, 'train_s': 5.0},
        {'steps': 1000, 'eval_return': -97.0, 'train_s': 10.0},
        {'steps': 1500, 'eval_return': -147.0, 'train_s': 15.0}]
    # Kept on disk: a new Results on the root sees them, and run_all skips
    # them (a side that would now fail is not run again).
    again = harness.Results(str(tmp_path))
    failing = harness.Side('peer', lambda seed, run_dir: [
        sys.executable, '-c', 'raise SystemExit(3)'], side.read)
    assert not harness.run_all([failing], [0, 3], again)
    assert again.points('peer', 0)[0]['eval_return'] == -50.0


def test_a_failed_run_is_reported_with_its_last_stderr_line(tmp_path):
    failing = harness.Side('broken', lambda seed, run_dir: [
        sys.executable, '-c',
        'import sys; print("first", file=sys.stderr); '
        'print("no such env", file=sys.stderr); sys.exit(4)'],
                           _peer().read)
    results = harness.Results(str(tmp_path))
    failures = harness.run_all([failing], [1], results)
    assert failures == ['broken seed 1: exit 4: no such env']
    assert not results.has('broken', 1)


def test_an_alpacka_run_is_scored_at_its_evaluations(tmp_path):
    side = harness.alpacka_side(
        'shooting', 'alpacka/configs/shooting_random_cartpole.gin',
        steps=3, steps_per_epoch=1, bindings=[
            'Runner.episode_time_limit=10', 'Runner.n_envs=2',
            'Runner.callback_classes='
            '[@alpacka.runner.callbacks.EvaluationCallback]',
            'EvaluationCallback.n_episodes=1'])
    results = harness.Results(str(tmp_path))
    assert not harness.run_all([side], [0], results)
    points = results.points('shooting', 0)
    assert [point['steps'] for point in points] == [20, 40, 60]
    assert all(point['eval_return'] > 0 for point in points)
    times = [point['train_s'] for point in points]
    assert 0 < times[0] < times[1] < times[2]
    run_dir = os.path.join(str(tmp_path), 'shooting', 'seed0', 'run')
    assert harness.alpacka_points(run_dir) == points


def _results(tmp_path, points_by_side):
    results = harness.Results(str(tmp_path))
    for side, by_seed in points_by_side.items():
        for seed, points in by_seed.items():
            results.add(side, seed, points)
    return results


def test_scores_at_budgets_use_the_last_evaluation_at_or_before(tmp_path):
    points = [{'steps': 480, 'eval_return': -3.0, 'train_s': 1.0},
              {'steps': 1010, 'eval_return': -2.0, 'train_s': 2.0}]
    results = _results(tmp_path, {'a': {0: points}})
    np.testing.assert_array_equal(
        harness.score_table(results, 'a', [0, 1], [100, 500, 1000, 2000]),
        [[np.nan, -3.0, -3.0, -2.0], [np.nan] * 4])
    np.testing.assert_array_equal(
        harness.score_table(results, 'a', [0], [2000], 'train_s'), [[2.0]])


def test_report_gives_iqm_and_intervals_over_seeds(tmp_path, capsys):
    # 8 seeds: IQM = mean of the middle 4 (2 dropped at each end).
    ours = [-100.0, -150, -120, -130, -140, -110, -900, -50]
    theirs = [-400.0, -500, -450, -420, -480, -460, -300, -1000]
    results = _results(tmp_path, {
        side: {seed: [{'steps': 1000, 'eval_return': value,
                       'train_s': 10.0 + seed}]
               for seed, value in enumerate(values)}
        for side, values in (('ours', ours), ('theirs', theirs))})
    aggregates = harness.report(results, ['ours', 'theirs'], range(8),
                                [1000])
    ours_estimate = aggregates['ours']['return'][1000]
    assert ours_estimate.point == pytest.approx((-110 - 120 - 130 - 140) / 4)
    assert aggregates['theirs']['return'][1000].point == pytest.approx(
        (-420 - 450 - 460 - 480) / 4)
    assert ours_estimate.low <= ours_estimate.point <= ours_estimate.high
    # Train time IQM: seeds' 10..17 s, middle four 12..15.
    assert aggregates['ours']['train_s'].point == pytest.approx(13.5)
    assert aggregates['ours']['n_seeds'] == 8
    output = capsys.readouterr().out
    assert 'ours vs theirs at 1,000: higher, intervals apart' in output
    assert f'| ours | 8 | {ours_estimate} |' in output
    assert 'ours vs theirs, train time to 1,000: 1.00x' in output
    assert '    seed 6: -900; 16.0 s' in output


def test_results_file_is_json_of_every_run(tmp_path):
    _results(tmp_path, {'a': {2: [{'steps': 1, 'eval_return': 0.5,
                                   'train_s': 0.1}]}})
    with open(tmp_path / 'results.json', encoding='utf-8') as results_file:
        assert json.load(results_file) == {
            'a': {'2': [{'steps': 1, 'eval_return': 0.5, 'train_s': 0.1}]}}
