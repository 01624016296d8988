"""How fast an agent learns CartPole: alpacka/configs/mcts_cartpole.gin
(AlphaZero-style MCTS) by default, or --config_file (e.g. sac_cartpole.gin).

For each seed (0 to 9 by default), sequentially, the script runs
``python -m alpacka.runner`` on the config in a subprocess with a wall-clock
cap (15 minutes by default) and watches its metrics.jsonl. A seed succeeds
when the greedy evaluation return (``eval_episode/return_mean``, logged by
the EvaluationCallback) first reaches the goal (475 of the 500-step limit);
the run is then stopped.

Per seed it reports the minutes from launch (TensorFlow start-up included) to
that first evaluation, the epochs, and the env steps spent until then:

* real steps: training episodes (``counters/env_steps``) plus the evaluation
  episodes (``eval_episode/length_mean * count``);
* simulated steps: the planning steps of the training episodes' searches
  (``agent/model_steps``); the evaluation episodes' searches are not
  logged by the callback and are estimated as their real steps times the
  training searches' simulated steps per move (both 0 for model-free
  agents).

It also prints the simulations per move (``DeterministicMCTSAgent.n_passes``
from the run's config.gin), the median over seeds, the interquartile mean
over seeds with its 95% stratified-bootstrap confidence interval (a seed
that misses the goal counts at the cap) and the load average before and
after (this 2-core machine is shared; minutes depend on it).

Usage:
    python benchmarks/cartpole_learning.py [--config_file FILE] [--seeds 0 1 ...]
        [--minutes 15] [--goal 475] [--output_dir /tmp/mcts_cartpole]
        [--config KEY=VALUE ...]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

from alpacka import metric_logging
from alpacka.metric_logging import aggregation
from alpacka.utils import run_directory

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO_ROOT, 'alpacka', 'configs', 'mcts_cartpole.gin')
EVAL_RETURN = 'eval_episode/return_mean'


def read_metrics(output_dir: str) -> Dict[str, Dict[int, float]]:
    """{name: {step: value}} of the run's metrics so far ({} before its
    first epoch), and {'_time/' + name: {step: unix time logged}}."""
    try:
        records = metric_logging.read_metrics(
            run_directory.metrics_path(output_dir))
    except FileNotFoundError:
        return {}
    times = metric_logging.to_series(records, field='time')
    return {**metric_logging.to_series(records),
            **{'_time/' + name: steps for name, steps in times.items()}}


def first_success(metrics: Dict[str, Dict[int, float]],
                  goal: float) -> Optional[int]:
    """The first epoch whose evaluation return reached the goal, or None."""
    reached = [epoch for epoch, value in metrics.get(EVAL_RETURN, {}).items()
               if value >= goal]
    return min(reached) if reached else None


def steps_until(metrics: Dict[str, Dict[int, float]], epoch: int) -> dict:
    """Real and simulated env steps of epochs 0..epoch."""
    def total(name):
        return sum(value for step, value in metrics.get(name, {}).items()
                   if step <= epoch)

    training = metrics.get('counters/env_steps', {}).get(epoch, 0.0)
    evaluation = sum(
        value * metrics.get('eval_episode/count', {}).get(step, 0.0)
        for step, value in metrics.get('eval_episode/length_mean', {}).items()
        if step <= epoch)
    simulated = total('agent/model_steps')
    per_move = simulated / training if training else 0.0
    return {'real': training + evaluation, 'real_training': training,
            'real_eval': evaluation, 'simulated_training': simulated,
            'simulated_eval_estimate': evaluation * per_move}


def n_passes(output_dir: str) -> Optional[int]:
    """DeterministicMCTSAgent.n_passes from the run's operative config."""
    path = run_directory.config_path(output_dir)
    if not os.path.exists(path):
        return None
    with open(path, encoding='utf-8') as config_file:
        match = re.search(r'^DeterministicMCTSAgent\.n_passes = (\d+)',
                          config_file.read(), re.MULTILINE)
    return int(match.group(1)) if match else None


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 30 s (metrics and checkpoints are on disk
    and survive any kill)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_seed(seed: int, output_dir: str, minutes: float, goal: float,
             bindings: List[str], config: str = CONFIG) -> dict:
    """Runs one seed until the goal or the cap; returns its figures."""
    command = [sys.executable, '-m', 'alpacka.runner',
               f'--config_file={config}', f'--config=Runner.seed={seed}',
               *(f'--config={binding}' for binding in bindings),
               f'--output_dir={output_dir}']
    start = time.time()
    with open(os.path.join(output_dir + '.log'), 'w',
              encoding='utf-8') as log, subprocess.Popen(
                  command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                  env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')) as process:
        epoch = None
        while process.poll() is None and time.time() - start < minutes * 60:
            time.sleep(2.0)
            epoch = first_success(read_metrics(output_dir), goal)
            if epoch is not None:
                break
        stop(process)
    metrics = read_metrics(output_dir)
    epoch = first_success(metrics, goal)
    result = {'seed': seed, 'epoch': epoch, 'n_passes': n_passes(output_dir),
              'epochs_run': len(metrics.get('time/epoch_s', {})),
              'best_eval': max(metrics.get(EVAL_RETURN, {0: 0.0}).values())}
    if epoch is not None:
        result['minutes'] = (metrics['_time/' + EVAL_RETURN][epoch] -
                             start) / 60
        result.update(steps_until(metrics, epoch))
    return result


def _load() -> str:
    return ' '.join(f'{load:.2f}' for load in os.getloadavg())


def print_results(results: List[dict], minutes: float, goal: float) -> None:
    """Prints the per-seed table and the median."""
    print(f'\nGoal: greedy evaluation return >= {goal:g}, cap {minutes:g} min.')
    print(f'{"seed":>4} {"minutes":>8} {"epoch":>6} {"real steps":>11} '
          f'{"(train/eval)":>15} {"simulated (train)":>18} '
          f'{"(+eval est.)":>13} {"sims/move":>10}')
    for result in results:
        if result['epoch'] is None:
            print(f'{result["seed"]:>4} {"-":>8} {"-":>6} not reached in '
                  f'{result["epochs_run"]} epochs (best evaluation '
                  f'{result["best_eval"]:.1f})')
            continue
        split = f'{result["real_training"]:,.0f}/{result["real_eval"]:,.0f}'
        print(f'{result["seed"]:>4} {result["minutes"]:>8.2f} '
              f'{result["epoch"]:>6} {result["real"]:>11,.0f} {split:>15} '
              f'{result["simulated_training"]:>18,.0f} '
              f'{result["simulated_eval_estimate"]:>13,.0f} '
              f'{result["n_passes"] or "-":>10}')
    times = [r.get('minutes', minutes) for r in results]
    median = statistics.median(times)
    verdict = 'met' if median <= minutes else 'NOT met'
    censored = sum('minutes' not in r for r in results)
    note = (f' ({censored} seed{"s" if censored > 1 else ""} that did not '
            f'reach it counted at the cap)' if censored else '')
    print(f'Median minutes to the goal: {median:.2f} (goal {minutes:g}: '
          f'{verdict}).')
    print(f'IQM over {len(results)} seeds [95% stratified-bootstrap CI]{note}: '
          f'minutes {aggregation.interval_estimate(times, reps=10_000)}' +
          (f', real env steps '
           f'{aggregation.interval_estimate([r["real"] for r in results], reps=10_000)}'
           if not censored else ''))


def main() -> None:
    """Parses the flags, runs the seeds and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--config_file', default=CONFIG,
                        help='the experiment (default mcts_cartpole.gin)')
    parser.add_argument('--seeds', type=int, nargs='+', default=list(range(10)))
    parser.add_argument('--minutes', type=float, default=15.0,
                        help='wall-clock cap per seed (default 15)')
    parser.add_argument('--goal', type=float, default=475.0,
                        help='evaluation return to reach (default 475)')
    parser.add_argument('--output_dir', default=None,
                        help='where the runs go (default: a new temp dir)')
    parser.add_argument('--config', action='append', default=[],
                        help='extra Gin binding for every run (repeatable)')
    args = parser.parse_args()
    config = os.path.abspath(args.config_file)
    base_dir = args.output_dir or tempfile.mkdtemp(prefix='cartpole_')
    os.makedirs(base_dir, exist_ok=True)
    print(f'Config {os.path.relpath(config, REPO_ROOT)}; runs in {base_dir}; '
          f'load average before: {_load()}.', flush=True)
    results = []
    for seed in args.seeds:
        output_dir = os.path.join(base_dir, f'seed{seed}')
        if os.path.exists(output_dir):
            raise SystemExit(f'{output_dir} exists; choose a new --output_dir '
                             f'(a finished run would be resumed, not re-run).')
        result = run_seed(seed, output_dir, args.minutes, args.goal,
                          args.config, config)
        results.append(result)
        minutes = result.get('minutes')
        print(f'seed {seed}: ' + (f'goal after {minutes:.2f} min (epoch '
                                  f'{result["epoch"]})' if minutes is not None
                                  else 'goal not reached') +
              f'; load average {_load()}.', flush=True)
    print_results(results, args.minutes, args.goal)
    print(f'Load average after: {_load()} (1, 5, 15 min).')


if __name__ == '__main__':
    main()
