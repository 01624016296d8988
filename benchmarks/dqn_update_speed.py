"""DQN update speed on the Nature conv net: Alpacka against a bare update and
against Stable-Baselines3, in one run.

Gradient updates per second at batch 32 on the Nature DQN conv net
([84, 84, 4] uint8 frames; conv 32 8x8/4, 64 4x4/2, 64 3x3/1, dense 512,
one output per action), one thread each, in --rounds interleaved rounds of
--updates updates:

  (a) bare: a double-DQN update written directly in Keras 3 and one
      ``tf.function`` (benchmarks/dqn_bare_update.py: Huber loss, Adam, a
      target network copied every 1,000 updates), batches drawn from numpy
      arrays and fed each step;
  (b) Alpacka: ``QLearningTrainer.train_epoch`` on a ``QNetwork`` with the
      Nature torso and the same settings (replay sampling, batch assembly,
      checks and metrics included), in this process;
  (c) Stable-Baselines3: ``DQN.train`` on its NatureCNN with rl-zoo's Atari
      settings (sb3_peer.py ``updates --algo dqn``, in its own virtualenv,
      a fresh process each round; its start-up and replay filling are not
      timed).

Every side's replay holds --fill random transitions. It prints each round,
the medians, Alpacka's overhead over the bare update (1 - Alpacka / bare)
and Alpacka / SB3.

Usage (about 1-2 minutes per round at the default sizes on a loaded 2-core
machine; the default 5 rounds take about 10 minutes):
    python benchmarks/dqn_update_speed.py [--rounds 5] [--updates 200]
        [--fill 2000] [--sides bare alpacka sb3] [--jit_compile]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np  # pylint: disable=wrong-import-position

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dqn_bare_update  # pylint: disable=wrong-import-position
import harness  # pylint: disable=wrong-import-position
import peer_venvs  # pylint: disable=wrong-import-position

# One thread, as the peer: TensorFlow reads these when it starts, later.
os.environ.update(harness.ONE_THREAD)

from alpacka import data  # pylint: disable=wrong-import-position
from alpacka.utils import tensorflow_import  # pylint: disable=wrong-import-position

BATCH_SIZE = 32
N_ACTIONS = 4  # Breakout's minimal action set.
LEARNING_RATE = 1e-4
TARGET_EVERY = 1000
SIDES = ('bare', 'alpacka', 'sb3')
# Updates/s of n updates.
Timer = Callable[[int], float]


def bare_updates_per_s(batches: Dict[str, np.ndarray], seed: int,
                       jit_compile: bool = False) -> Timer:
    """The bare side (a): a BareDQNUpdate, compiled (with XLA if
    jit_compile), timed per call."""
    tf, keras = tensorflow_import.import_tensorflow()
    bare = dqn_bare_update.BareDQNUpdate(
        tf, keras, N_ACTIONS, learning_rate=LEARNING_RATE,
        target_every=TARGET_EVERY, seed=seed, jit_compile=jit_compile)
    rng = np.random.default_rng(seed)
    bare.train(batches, 20, rng, BATCH_SIZE)  # Compiles.

    def timer(n_updates: int) -> float:
        start = time.perf_counter()
        bare.train(batches, n_updates, rng, BATCH_SIZE)
        return n_updates / (time.perf_counter() - start)
    return timer


# ---------------------------------------------------------------------------
# ALPACKA'S SIDE (b): QNetwork (Nature torso) trained by QLearningTrainer.
# Written against alpacka.networks.q_network and alpacka.trainers.q_learning;
# where they are not importable yet, the side is skipped with the reason.
# ---------------------------------------------------------------------------
def alpacka_updates_per_s(batches: Dict[str, np.ndarray], seed: int,
                          jit_compile: bool = False) -> Timer:
    """Alpacka's side (b): QLearningTrainer.train_epoch on a QNetwork.

    The trainer's replay gets ``batches`` (random transitions) first; each
    timed call adds n_updates more transitions (not timed) and times the
    train_epoch that owes them, one update per step.

    Args:
        batches: dqn_bare_update.random_atari_batches' arrays.
        seed: Seeds the network and the replay sampling.
        jit_compile: QNetwork.jit_compile (XLA).

    Returns:
        The timer: n_updates -> updates per second.

    Raises:
        ImportError: where QNetwork or QLearningTrainer is not there yet.
    """
    # pylint: disable=import-outside-toplevel
    from alpacka.networks import q_network
    from alpacka.trainers import q_learning
    signature = q_network.q_network_signature(
        data.TensorSignature(dqn_bare_update.FRAME_SHAPE, np.uint8),
        N_ACTIONS)
    network = q_network.QNetwork(
        signature, torso='nature', double_dqn=True, loss='huber',
        optimizer='adam', learning_rate=LEARNING_RATE, max_grad_norm=None,
        target_update='hard', target_update_period=TARGET_EVERY, seed=seed,
        jit_compile=jit_compile)
    size = len(batches['reward'])
    trainer = q_learning.QLearningTrainer(
        signature, batch_size=BATCH_SIZE, updates_per_step=1.0,
        min_replay_size=size, replay_buffer_capacity=2 * size, seed=seed)
    rng = np.random.default_rng(seed)

    def add(n_steps: int) -> None:
        index = rng.integers(size, size=n_steps)
        trainer.add_transitions(data.Transition(
            observation=batches['observation'][index],
            action=batches['action'][index].astype(np.int64),
            reward=batches['reward'][index],
            done=batches['terminated'][index] > 0,
            next_observation=batches['next_observation'][index],
            agent_info={}, terminated=batches['terminated'][index] > 0,
            truncated=np.zeros(n_steps, bool)))

    add(size)
    trainer.train_epoch(network)  # Fills the replay; no updates yet.
    add(20)
    trainer.train_epoch(network)  # Compiles.

    def timer(n_updates: int) -> float:
        add(n_updates)
        start = time.perf_counter()
        metrics = trainer.train_epoch(network)
        return metrics['n_updates'] / (time.perf_counter() - start)
    return timer


def sb3_updates_per_s(python: str, fill: int, seed: int) -> Timer:
    """Stable-Baselines3's side (c): sb3_peer.py in its virtualenv."""
    def timer(n_updates: int) -> float:
        result = subprocess.run(
            [python, peer_venvs.peer_script('sb3'), 'updates', '--algo',
             'dqn', '--n_updates', str(n_updates), '--fill', str(fill),
             '--seed', str(seed), '--threads', '1'],
            capture_output=True, text=True, check=True,
            env=dict(os.environ, **harness.ONE_THREAD))
        return [json.loads(line) for line in result.stdout.splitlines()
                if line.startswith('{')][-1]['updates_per_s']
    return timer


def make_timers(sides: Sequence[str], fill: int, seed: int,
                bare_jit_compile: bool = False
                ) -> Tuple[Dict[str, Timer], List[str]]:
    """The timers of the sides that can run, and a line for each that
    cannot."""
    timers, skipped = {}, []
    batches = dqn_bare_update.random_atari_batches(fill, N_ACTIONS, seed)
    if 'bare' in sides:
        timers['bare'] = bare_updates_per_s(batches, seed, bare_jit_compile)
    if 'alpacka' in sides:
        try:
            timers['alpacka'] = alpacka_updates_per_s(batches, seed,
                                                      bare_jit_compile)
        except ImportError as error:
            skipped.append(f'alpacka skipped: QNetwork / QLearningTrainer '
                           f'not importable ({error})')
    if 'sb3' in sides:
        python, why_not = peer_venvs.peer_python('sb3')
        if python is None:
            skipped.append(f'sb3 skipped: {why_not}')
        else:
            timers['sb3'] = sb3_updates_per_s(python, fill, seed)
    return timers, skipped


def measure(timers: Dict[str, Timer], rounds: int, n_updates: int
            ) -> Dict[str, float]:
    """Median updates/s of each timer over interleaved rounds."""
    rates = {name: [] for name in timers}
    for index in range(rounds):
        for name, timer in timers.items():
            rates[name].append(timer(n_updates))
        print(f'  round {index}: ' + ', '.join(
            f'{name} {values[-1]:.1f}/s' for name, values in rates.items()),
            flush=True)
    return {name: statistics.median(values) for name, values in rates.items()}


def report(medians: Dict[str, float]) -> None:
    """Prints the medians and the ratios."""
    labels = {'bare': 'bare tf.function update',
              'alpacka': 'Alpacka QLearningTrainer',
              'sb3': 'Stable-Baselines3 DQN.train'}
    for name, rate in medians.items():
        print(f'  {labels[name] + ":":30s} {rate:7.1f} updates/s')
    if 'alpacka' in medians and 'bare' in medians:
        print(f'  {"Alpacka overhead over bare:":30s} '
              f'{100 * (1 - medians["alpacka"] / medians["bare"]):6.1f} %')
    if 'alpacka' in medians and 'sb3' in medians:
        print(f'  {"Alpacka / Stable-Baselines3:":30s} '
              f'{medians["alpacka"] / medians["sb3"]:6.2f}x')
    if 'bare' in medians and 'sb3' in medians:
        print(f'  {"bare / Stable-Baselines3:":30s} '
              f'{medians["bare"] / medians["sb3"]:6.2f}x')


def parse(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--updates', type=int, default=200)
    parser.add_argument('--fill', type=int, default=2000)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--sides', nargs='+', choices=SIDES,
                        default=list(SIDES))
    parser.add_argument('--jit_compile', '--bare_jit_compile',
                        dest='bare_jit_compile', action='store_true',
                        help='compile both the bare update and QNetwork\'s '
                             '(QNetwork.jit_compile) with XLA')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    """Measures and prints; returns the median updates/s per side."""
    args = parse(argv)
    print(f'DQN updates at batch {BATCH_SIZE} on the Nature conv net, '
          f'{args.rounds} rounds of {args.updates}, one thread each; load '
          f'average {os.getloadavg()[0]:.2f}.', flush=True)
    timers, skipped = make_timers(args.sides, args.fill, args.seed,
                                  args.bare_jit_compile)
    for line in skipped:
        print(f'  {line}.')
    medians = measure(timers, args.rounds, args.updates)
    report(medians)
    return medians


if __name__ == '__main__':
    main()
