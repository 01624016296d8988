"""Soft Actor-Critic on Pendulum: Alpacka against a bare update and against
Stable-Baselines3, side by side in one run.

Part 1, update speed: gradient updates per second at batch 256 with 256x256
networks, one thread, in interleaved rounds in this process, of
  * the framework: SoftActorCriticTrainer.train_epoch on a
    SoftActorCriticNetwork (replay sampling, batch checks, metrics included);
  * a bare tf.function SAC update written without the framework
    (benchmarks/sac_bare_update.py), fed from numpy arrays;
then Stable-Baselines3's ``SAC.train`` in its own virtualenv (peer_venvs.py).

Part 2, learning, through benchmarks/harness.py: ``sac_pendulum.gin``
against Stable-Baselines3's SAC with its rl-zoo tuned Pendulum settings, and
SBX's SAC and CrossQ (peers in their own virtualenvs, peer_venvs.py), 10
seeds each (10 to 19: the config's settings were chosen on seeds 0 to 4),
5,000 env steps, 10 deterministic evaluation episodes every 500 steps, two
runs at a time, one thread per run. It reports the interquartile
mean over seeds of the evaluation return at 1,000 to 5,000 steps and of the
training wall time to 3,000 steps (collection and updates; evaluation and
start-up excluded), each with its 95% stratified-bootstrap confidence
interval, whether Alpacka's intervals and each peer's overlap, and the
per-seed table.

Usage:
    python benchmarks/sac_pendulum.py [--seeds 10] [--first_seed 10] [--root DIR]
        [--jobs 2] [--sides alpacka sb3-sac ...] [--rounds 5]
        [--updates 200] [--skip_learning] [--skip_updates]
        [--config BINDING ...]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Tuple

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # pylint: disable=wrong-import-position
import peer_venvs  # pylint: disable=wrong-import-position
import sac_bare_update  # pylint: disable=wrong-import-position

# One thread, as the peers and every harness run: TensorFlow reads these
# when it starts, which is after this.
os.environ.update(harness.ONE_THREAD)

from alpacka import data  # pylint: disable=wrong-import-position
from alpacka import envs  # pylint: disable=wrong-import-position
from alpacka.networks import sac as sac_network  # pylint: disable=wrong-import-position
from alpacka.trainers import sac as sac_trainer  # pylint: disable=wrong-import-position
from alpacka.utils import tensorflow_import  # pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO_ROOT, 'alpacka', 'configs', 'sac_pendulum.gin')
BATCH_SIZE = 256
STEPS = 5000


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
    """Runs sb3_peer.py; returns its JSON lines."""
    result = subprocess.run([python, peer_venvs.peer_script('sb3'), *args],
                            capture_output=True, text=True, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith('{')]


def learning_sides(bindings: List[str]) -> List[harness.Side]:
    """Alpacka's sac_pendulum.gin and the peers, on the same protocol."""
    peer_arguments = ['learn', '--env', 'Pendulum-v1', '--steps',
                      str(STEPS), '--eval_every', '500', '--eval_episodes',
                      '10', '--threads', '1']
    return [harness.alpacka_side('alpacka', CONFIG, STEPS, 500, bindings),
            *harness.peer_sides([
                ('sb3-sac', 'sb3', [*peer_arguments, '--algo', 'sac']),
                ('sbx-sac', 'sbx', [*peer_arguments, '--algo', 'sac']),
                ('sbx-crossq', 'sbx', [*peer_arguments, '--algo', 'crossq'])])]


def main() -> None:
    """Runs both parts and prints the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    # sac_pendulum.gin's settings were chosen on seeds 0-4: report on others.
    harness.add_protocol_arguments(parser, first_seed=10)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--updates', type=int, default=200)
    parser.add_argument('--skip_learning', action='store_true')
    parser.add_argument('--skip_updates', action='store_true')
    parser.add_argument('--config', action='append', default=[],
                        help='Extra Gin bindings for the Alpacka runs.')
    args = parser.parse_args()
    print(f'load average before: {os.getloadavg()[0]:.2f}')
    if not args.skip_updates:
        print(f'\nUpdate speed (batch {BATCH_SIZE}, 256x256, {args.rounds} '
              f'rounds of {args.updates} updates):')
        framework, bare = measure_update_speed(args.rounds, args.updates)
        print(f'  Alpacka SoftActorCriticTrainer: {framework:7.1f} updates/s')
        print(f'  bare tf.function update:        {bare:7.1f} updates/s')
        print(f'  framework overhead:             '
              f'{100 * (1 - framework / bare):6.1f} %')
        python, why_not = peer_venvs.peer_python('sb3')
        if python is None:
            print(f'  Stable-Baselines3 side skipped: {why_not}.')
        else:
            sb3 = statistics.median(
                run_sb3(python, ['updates', '--n_updates', str(args.updates)])[
                    0]['updates_per_s'] for _ in range(3))
            print(f'  Stable-Baselines3 SAC.train:    {sb3:7.1f} updates/s '
                  f'(median of 3 runs)')
            print(f'  Alpacka / Stable-Baselines3:    {framework / sb3:6.2f}x')
    if not args.skip_learning:
        print(f'\nLearning Pendulum-v1: {STEPS:,} env steps per seed.')
        harness.run_protocol(args, learning_sides(args.config),
                             budgets=[1000, 2000, 3000, 4000, 5000],
                             time_budget=3000)


if __name__ == '__main__':
    main()
