"""How fast MCTS with a value network learns Sokoban: the greedy solved rate
against wall-clock minutes, per seed.

Runs ``python -m alpacka.runner`` on a Sokoban config
(``alpacka/configs/mcts_sokoban_small.gin`` by default: 8x8 rooms, 2 boxes)
for each seed, ``--jobs`` seeds at a time (the default runs all seeds side by
side: three 60-minute runs one after the other would take three hours), each
with a wall-clock cap (``--minutes``, 60 by default), and reads the runs'
metrics.jsonl. The score is ``eval_episode/solved_rate``: the
EvaluationCallback's greedy episodes (``agent.evaluation = True``) on fresh
rooms. It prints each seed's curve (the solved rate at every evaluation,
with the minutes since launch, TensorFlow's start-up included), the minutes
to the first evaluation at or above ``--goal`` (0.9), and, as a criterion
less lucky than one evaluation of 64 rooms, to the first of three evaluations
in a row whose mean reaches it; the median of each over seeds (a seed that
misses the goal counts at the cap), and the model steps per second of the
training searches (``agent/model_steps`` over the epochs' collection time;
each simulation steps the four actions of its leaf). A run stops once the
three-in-a-row criterion is met; with ``--run_to_cap`` the runs go on to the
cap, and the mean of each seed's last three evaluations is printed too. The
load average is printed before and after: the
runs share this 2-core machine with each other and with whatever else runs.

Usage:
    python benchmarks/sokoban_learning.py [--config_file FILE]
        [--seeds 0 1 2] [--jobs 3] [--minutes 60] [--goal 0.9]
        [--run_to_cap] [--output_dir DIR] [--config KEY=VALUE ...]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

import cartpole_learning
from alpacka.metric_logging import aggregation

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO_ROOT, 'alpacka', 'configs',
                      'mcts_sokoban_small.gin')
SOLVED = 'eval_episode/solved_rate'


def curve(metrics: Dict[str, Dict[int, float]],
          start: float) -> List[tuple]:
    """[(epoch, minutes since start, solved rate)] of every evaluation."""
    times = metrics.get('_time/' + SOLVED, {})
    return [(epoch, (times[epoch] - start) / 60, value)
            for epoch, value in sorted(metrics.get(SOLVED, {}).items())]


def first_sustained(points: List[tuple], goal: float,
                    window: int = 3) -> Optional[tuple]:
    """The point ending the first window of evaluations whose mean >= goal."""
    for end in range(window, len(points) + 1):
        if sum(value for _, _, value in points[end - window:end]) >= (
                goal * window):
            return points[end - 1]
    return None


def model_steps_per_s(metrics: Dict[str, Dict[int, float]]) -> Optional[float]:
    """Model env steps per second of collection, over the whole run."""
    steps = metrics.get('agent/model_steps', {})
    seconds = metrics.get('time/gather_s', {})
    common = [epoch for epoch in steps if epoch in seconds]
    total_s = sum(seconds[epoch] for epoch in common)
    return (sum(steps[epoch] for epoch in common) / total_s) if total_s else None


def launch(seed: int, output_dir: str, config: str,
           bindings: List[str]) -> subprocess.Popen:
    """Starts one run; its output goes to output_dir + '.log'."""
    command = [sys.executable, '-m', 'alpacka.runner',
               f'--config_file={config}', f'--config=Runner.seed={seed}',
               *(f'--config={binding}' for binding in bindings),
               f'--output_dir={output_dir}']
    log = open(output_dir + '.log', 'w', encoding='utf-8')  # pylint: disable=consider-using-with
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=log,
                            stderr=subprocess.STDOUT,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))


def run_seeds(seeds: List[int], base_dir: str, config: str, jobs: int,
              minutes: float, goal: float, bindings: List[str],
              run_to_cap: bool = False) -> List[dict]:
    """Runs the seeds, jobs at a time, each until three evaluations in a row
    reach the goal on average (unless run_to_cap) or the cap."""
    pending = list(seeds)
    running: Dict[int, tuple] = {}
    results = []
    while pending or running:
        while pending and len(running) < jobs:
            seed = pending.pop(0)
            output_dir = os.path.join(base_dir, f'seed{seed}')
            running[seed] = (launch(seed, output_dir, config, bindings),
                             output_dir, time.time())
        time.sleep(5.0)
        for seed, (process, output_dir, start) in list(running.items()):
            points = curve(cartpole_learning.read_metrics(output_dir), start)
            # The headline criterion (three evaluations in a row).
            reached = not run_to_cap and first_sustained(points,
                                                         goal) is not None
            if (reached or process.poll() is not None
                    or time.time() - start > minutes * 60):
                cartpole_learning.stop(process)
                del running[seed]
                metrics = cartpole_learning.read_metrics(output_dir)
                points = curve(metrics, start)
                first = next((point for point in points if point[2] >= goal),
                             None)
                sustained = first_sustained(points, goal)
                results.append({
                    'seed': seed, 'curve': points,
                    'minutes': None if first is None else first[1],
                    'sustained_minutes': (None if sustained is None
                                          else sustained[1]),
                    'epochs': len(metrics.get('time/epoch_s', {})),
                    'model_steps_per_s': model_steps_per_s(metrics),
                    'returncode': process.returncode})
                print(f'seed {seed}: ' + (
                    f'goal after {first[1]:.1f} min (epoch {first[0]})'
                    if first else 'goal not reached') +
                      f'; load average {_load()}.', flush=True)
    return sorted(results, key=lambda result: result['seed'])


def _load() -> str:
    return ' '.join(f'{load:.2f}' for load in os.getloadavg())


def print_results(results: List[dict], minutes: float, goal: float) -> None:
    """Each seed's curve, then the minutes to the goal and their median."""
    for result in results:
        rate = result['model_steps_per_s']
        print(f'\nseed {result["seed"]}: {result["epochs"]} epochs; model '
              f'steps per second of collection '
              f'{"-" if rate is None else f"{rate:,.0f}"}')
        print('  epoch  minutes  greedy solved rate')
        for epoch, at, value in result['curve']:
            print(f'  {epoch:>5} {at:>8.1f}  {value:.3f}')
    print(f'\nGoal: greedy solved rate >= {goal:g} within {minutes:g} min.')
    for key, what in (('minutes', 'one evaluation'),
                      ('sustained_minutes', 'mean of 3 in a row')):
        times = [result[key] if result[key] is not None else minutes
                 for result in results]
        censored = sum(result[key] is None for result in results)
        median = statistics.median(times)
        print(f'Minutes to the goal ({what}) per seed: ' + ', '.join(
            '-' if result[key] is None else f'{result[key]:.1f}'
            for result in results) +
              f'; median {median:.1f} min '
              f'({"met" if median <= minutes else "NOT met"}' +
              (f'; {censored} seed(s) that missed it counted at the cap'
               if censored else '') + ')' + (
                   f'; IQM [95% CI] '
                   f'{aggregation.interval_estimate(times, reps=10_000)}'
                   if len(times) > 1 else '') + '.')
    last = [statistics.mean(value for _, _, value in result['curve'][-3:])
            for result in results if len(result['curve']) >= 3]
    if last:
        print('Mean of the last 3 evaluations per seed: ' +
              ', '.join(f'{value:.3f}' for value in last) + '.')


def main() -> None:
    """Parses the flags, runs the seeds and prints the curves."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--config_file', default=CONFIG)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--jobs', type=int, default=None,
                        help='seeds run side by side (default: all)')
    parser.add_argument('--minutes', type=float, default=60.0)
    parser.add_argument('--goal', type=float, default=0.9)
    parser.add_argument('--run_to_cap', action='store_true',
                        help='do not stop a run at the goal')
    parser.add_argument('--output_dir', default=None)
    parser.add_argument('--config', action='append', default=[],
                        help='extra Gin binding for every run (repeatable)')
    args = parser.parse_args()
    config = os.path.abspath(args.config_file)
    base_dir = args.output_dir or tempfile.mkdtemp(prefix='sokoban_')
    os.makedirs(base_dir, exist_ok=True)
    for seed in args.seeds:
        if os.path.exists(os.path.join(base_dir, f'seed{seed}')):
            raise SystemExit(f'{base_dir}/seed{seed} exists; choose a new '
                             f'--output_dir (a run there would be resumed).')
    print(f'Config {os.path.relpath(config, REPO_ROOT)}; runs in {base_dir}; '
          f'load average before: {_load()}.', flush=True)
    results = run_seeds(args.seeds, base_dir, config,
                        args.jobs or len(args.seeds), args.minutes, args.goal,
                        args.config, args.run_to_cap)
    print_results(results, args.minutes, args.goal)
    print(f'Load average after: {_load()} (1, 5, 15 min).')


if __name__ == '__main__':
    main()
