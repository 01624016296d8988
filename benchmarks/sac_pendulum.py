"""Soft Actor-Critic on Pendulum: Alpacka against a bare update and against
Stable-Baselines3, side by side in one run.

Part 1, update speed: gradient updates per second at batch 256 with 256x256
networks, in interleaved rounds in this process, of
  * the framework: SoftActorCriticTrainer.train_epoch on a
    SoftActorCriticNetwork (replay sampling, batch checks, metrics included);
  * a bare tf.function SAC update written without the framework
    (benchmarks/sac_bare_update.py), fed from numpy arrays;
then Stable-Baselines3's ``SAC.train`` in its own virtualenv (sb3_venv.py).

Part 2, learning: per seed, ``alpacka/configs/sac_pendulum.gin`` through
``python -m alpacka.runner`` and Stable-Baselines3's SAC with its tuned
Pendulum settings (sb3_sac.py), one after the other, for --steps env steps
each, evaluating 10 deterministic episodes every 500 steps. For each it
reports the first evaluation at or above --goal: its env steps and the
training wall time until then (collection and updates; evaluation and
start-up excluded), with the medians over seeds and the time ratio.

Usage:
    python benchmarks/sac_pendulum.py [--seeds 0 1 2] [--steps 4000]
        [--rounds 5] [--updates 200] [--skip_learning] [--skip_sb3]
        [--sb3_venv DIR] [--config KEY=VALUE ...]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cartpole_learning  # pylint: disable=wrong-import-position
import sac_bare_update  # pylint: disable=wrong-import-position
import sb3_venv  # pylint: disable=wrong-import-position

from alpacka import data  # pylint: disable=wrong-import-position
from alpacka import envs  # pylint: disable=wrong-import-position
from alpacka.networks import sac as sac_network  # pylint: disable=wrong-import-position
from alpacka.trainers import sac as sac_trainer  # pylint: disable=wrong-import-position
from alpacka.utils import tensorflow_import  # pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO_ROOT, 'alpacka', 'configs', 'sac_pendulum.gin')
BATCH_SIZE = 256


def random_pendulum_data(n_steps: int, seed: int = 0) -> Dict[str, np.ndarray]:
    """n_steps transitions of uniformly random actions on Pendulum."""
    env = envs.Pendulum()
    observation, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    columns = {key: [] for key in ('observation', 'action', 'reward',
                                   'next_observation', 'terminated')}
    for step in range(n_steps):
        action = env.action_space.sample()
        next_observation, reward, _, _, _ = env.step(action)
        for key, value in zip(columns, (observation, action, reward,
                                        next_observation, 0.0)):
            columns[key].append(value)
        observation = (env.reset()[0] if (step + 1) % 200 == 0
                       else next_observation)
    return {key: np.asarray(value, np.float32) for key, value in
            columns.items()}


def measure_update_speed(rounds: int, updates: int) -> Tuple[float, float]:
    """Median updates/s of the framework and of the bare update."""
    tf, keras = tensorflow_import.import_tensorflow()
    env = envs.Pendulum()
    signature = sac_network.network_signature(env.observation_space,
                                              env.action_space)
    network = sac_network.SoftActorCriticNetwork(
        signature, action_space=env.action_space, hidden_sizes=(256, 256),
        actor_learning_rate=1e-3, critic_learning_rate=1e-3,
        alpha_learning_rate=1e-3, seed=0)
    trainer = sac_trainer.SoftActorCriticTrainer(
        signature, batch_size=BATCH_SIZE, updates_per_step=1.0,
        min_replay_size=0, seed=0)
    bare = sac_bare_update.BareSACUpdate(tf, keras, 3, 1, 2.0)
    pendulum = random_pendulum_data(2000 + rounds * updates + 20)
    rng = np.random.default_rng(0)

    def framework_updates(start: int, count: int) -> None:
        chunk = {key: value[start:start + count] for key, value in
                 pendulum.items()}
        trainer.add_transitions(data.Transition(
            observation=chunk['observation'], action=chunk['action'],
            reward=chunk['reward'], done=chunk['terminated'] > 0,
            next_observation=chunk['next_observation'], agent_info={},
            terminated=chunk['terminated'] > 0,
            truncated=np.zeros(count, bool)))

    framework_updates(0, 2000)
    trainer.train_epoch(network)  # Fills the replay; compiles.
    framework_updates(2000, 20)
    trainer.train_epoch(network)
    bare.train(pendulum, 20, rng)  # Compiles.
    framework, bare_rates = [], []
    for index in range(rounds):
        framework_updates(2020 + index * updates, updates)
        start = time.perf_counter()
        metrics = trainer.train_epoch(network)
        framework.append(metrics['n_updates'] / (time.perf_counter() - start))
        start = time.perf_counter()
        bare.train(pendulum, updates, rng)
        bare_rates.append(updates / (time.perf_counter() - start))
        print(f'  round {index}: framework {framework[-1]:.1f}/s, bare '
              f'{bare_rates[-1]:.1f}/s', flush=True)
    return statistics.median(framework), statistics.median(bare_rates)


def run_sb3(python: str, args: List[str]) -> List[dict]:
    """Runs sb3_sac.py; returns its JSON lines."""
    result = subprocess.run([python, sb3_venv.SCRIPT, *args],
                            capture_output=True, text=True, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith('{')]


def run_alpacka(seed: int, steps: int, output_dir: str,
                bindings: List[str]) -> List[dict]:
    """Runs sac_pendulum.gin; returns ``[{steps, eval_return, train_s}]``."""
    epochs = steps // 500
    command = [sys.executable, '-m', 'alpacka.runner',
               f'--config_file={CONFIG}', f'--output_dir={output_dir}',
               f'--config=Runner.seed={seed}',
               f'--config=Runner.n_epochs={epochs}']
    command += [f'--config={binding}' for binding in bindings]
    subprocess.run(command, check=True, cwd=REPO_ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    series = cartpole_learning.read_metrics(output_dir)
    points, train_s = [], 0.0
    for epoch in sorted(series['time/epoch_s']):
        train_s += (series['time/epoch_s'][epoch] -
                    series['time/callbacks_s'][epoch])
        if epoch in series.get('eval_episode/return_mean', {}):
            points.append({
                'steps': int(series['counters/env_steps'][epoch]),
                'eval_return': series['eval_episode/return_mean'][epoch],
                'train_s': train_s})
    return points


def first_reach(points: List[dict], goal: float) -> Optional[dict]:
    """The first evaluation at or above goal, or None."""
    return next((point for point in points if point['eval_return'] >= goal),
                None)


def _describe(point: Optional[dict]) -> str:
    if point is None:
        return 'not reached'
    return f'{point["steps"]:>5} steps, {point["train_s"]:6.1f} s'


def _median(points: List[Optional[dict]], key: str) -> Optional[float]:
    if sum(point is None for point in points) * 2 >= len(points):
        return None  # Not reached by at least half the seeds.
    values = [point[key] if point else float('inf') for point in points]
    return statistics.median(values)


def main() -> None:
    """Runs both parts and prints the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--steps', type=int, default=4000)
    parser.add_argument('--goal', type=float, default=-200.0)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--updates', type=int, default=200)
    parser.add_argument('--skip_learning', action='store_true')
    parser.add_argument('--skip_sb3', action='store_true')
    parser.add_argument('--sb3_venv', default=None)
    parser.add_argument('--config', action='append', default=[],
                        help='Extra Gin bindings for the Alpacka runs.')
    args = parser.parse_args()
    print(f'load average before: {os.getloadavg()[0]:.2f}')

    python, why_not = (None, 'skipped (--skip_sb3)') if args.skip_sb3 else (
        sb3_venv.sb3_python(args.sb3_venv))
    if python is None:
        print(f'Stable-Baselines3 side skipped: {why_not}.')

    print(f'\nUpdate speed (batch {BATCH_SIZE}, 256x256, {args.rounds} '
          f'rounds of {args.updates} updates):')
    framework, bare = measure_update_speed(args.rounds, args.updates)
    print(f'  Alpacka SoftActorCriticTrainer: {framework:7.1f} updates/s')
    print(f'  bare tf.function update:        {bare:7.1f} updates/s')
    print(f'  framework overhead:             {100 * (1 - framework / bare):6.1f} %')
    if python is not None:
        sb3 = statistics.median(
            run_sb3(python, ['updates', '--n_updates', str(args.updates)])[0][
                'updates_per_s'] for _ in range(3))
        print(f'  Stable-Baselines3 SAC.train:    {sb3:7.1f} updates/s '
              f'(median of 3 runs)')
        print(f'  Alpacka / Stable-Baselines3:    {framework / sb3:6.2f}x')

    if args.skip_learning:
        return
    print(f'\nLearning Pendulum to {args.goal:g} ({args.steps} steps; first '
          f'evaluation at or above the goal):')
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as temp_dir:
        for seed in args.seeds:
            points = run_alpacka(seed, args.steps,
                                 os.path.join(temp_dir, f'seed{seed}'),
                                 args.config)
            ours.append(first_reach(points, args.goal))
            at_3000 = next((point['eval_return'] for point in points
                            if point['steps'] == 3000), float('nan'))
            line = (f'  seed {seed}: Alpacka {_describe(ours[-1])} '
                    f'(eval at 3000: {at_3000:.0f})')
            if python is not None:
                sb3_points = run_sb3(python, ['learn', '--seed', str(seed),
                                              '--steps', str(args.steps)])
                theirs.append(first_reach(sb3_points, args.goal))
                line += f'; SB3 {_describe(theirs[-1])}'
            print(line, flush=True)
    for name, points in (('Alpacka', ours), ('Stable-Baselines3', theirs)):
        if points:
            steps, seconds = _median(points, 'steps'), _median(points, 'train_s')
            print(f'  median {name}: ' + ('not reached by most seeds' if
                  steps is None else f'{steps:.0f} steps, {seconds:.1f} s'))
    if ours and theirs and _median(ours, 'train_s') and _median(theirs, 'train_s'):
        print(f'  training time to the goal, Alpacka / SB3: '
              f'{_median(ours, "train_s") / _median(theirs, "train_s"):.2f}')
    print(f'load average after: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
