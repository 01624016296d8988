"""The evaluation protocol and the timing of the benchmarks' peer runs.

Shared by benchmarks/sb3_peer.py and benchmarks/sbx_peer.py, which run in
their own virtualenvs (peer_venvs.py), so it needs only gymnasium and numpy
and imports nothing from Alpacka. A peer run prints JSON lines on stdout:

* every ``--eval_every`` env steps,
  ``{"steps": int, "eval_return": float, "train_s": float}``: the mean
  undiscounted return of ``--eval_episodes`` deterministic episodes on a
  fresh env, episode ``e`` reset with seed ``10_000 * (seed + 1) + e``
  (sb3_sac.py's seeds; Alpacka's own evaluation derives its seeds from the
  run seed its own way); train_s is the wall time spent
  learning (collection and updates) since learning started, evaluations
  excluded;
* at the end, ``{"done": true, "steps": int, "train_s": float}``.

``--threads N`` limits the peer to N threads: call ``limit_threads`` before
torch or JAX is imported (they read their settings at import).
"""

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, List, Optional

import gymnasium
import numpy as np


def eval_seed(seed: int, episode: int) -> int:
    """The reset seed of evaluation episode ``episode`` of run ``seed``."""
    return 10_000 * (seed + 1) + episode


def add_learn_arguments(parser: argparse.ArgumentParser, algos: List[str],
                        env_ids: List[str],
                        threads_default: Optional[int] = 1) -> None:
    """Adds the options every peer's ``learn`` mode takes.

    Args:
        parser: The parser (or subparser) of the learn mode.
        algos: The algorithms the peer offers (the first is the default).
        env_ids: The gymnasium env ids it accepts (the first is the default).
        threads_default: --threads when not given (None: no limit).
    """
    parser.add_argument('--algo', choices=algos, default=algos[0])
    parser.add_argument('--env', choices=env_ids, default=env_ids[0])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--steps', type=_positive, default=5000)
    parser.add_argument('--eval_every', type=_positive, default=500)
    parser.add_argument('--eval_episodes', type=_positive, default=10)
    add_threads_argument(parser, threads_default)


def add_threads_argument(parser: argparse.ArgumentParser,
                         default: Optional[int] = 1) -> None:
    """Adds ``--threads N`` (see limit_threads)."""
    parser.add_argument('--threads', type=_positive, default=default,
                        help=f'threads the peer may use (default {default})')


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def limit_threads(n_threads: int, pin_cpus: bool = False) -> None:
    """Limits the native thread pools of this process to n_threads.

    Sets the OpenMP/MKL/OpenBLAS variables (torch, numpy) and XLA's CPU
    flags (Eigen's intra-op pool; with one thread, no Eigen pool). Must run
    before torch or JAX is imported; torch also needs
    ``torch.set_num_threads`` after import (sb3_peer.py does it).

    jaxlib 0.10 ignores those XLA flags (its CPU client sizes its pools from
    the CPUs the process may run on), so for JAX pass pin_cpus: the process
    is then confined to n_threads of its allowed CPUs, starting at the one it
    runs on now, so that peers started side by side spread over the cores.

    Args:
        n_threads: The number of threads, at least 1.
        pin_cpus: Also confine the process to n_threads CPUs (Linux only;
            elsewhere this does nothing).
    """
    for variable in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS',
                     'OPENBLAS_NUM_THREADS'):
        os.environ[variable] = str(n_threads)
    xla_flags = [f'--xla_cpu_multi_thread_eigen={str(n_threads > 1).lower()}',
                 f'intra_op_parallelism_threads={n_threads}']
    os.environ['XLA_FLAGS'] = ' '.join(
        [os.environ.get('XLA_FLAGS', ''), *xla_flags]).strip()
    if pin_cpus and hasattr(os, 'sched_setaffinity'):
        cpus = sorted(os.sched_getaffinity(0))
        if n_threads < len(cpus):
            first = _current_cpu_index(cpus)
            os.sched_setaffinity(0, [cpus[(first + i) % len(cpus)]
                                     for i in range(n_threads)])


def _current_cpu_index(cpus: List[int]) -> int:
    """The index in cpus of the CPU this process runs on (the scheduler put
    it on a lightly loaded one), or one chosen by pid where unknown."""
    try:
        with open('/proc/self/stat', encoding='ascii') as stat:
            # Field 39 (processor); the command name before ')' may hold
            # spaces.
            cpu = int(stat.read().rsplit(')', 1)[1].split()[36])
        return cpus.index(cpu)
    except (OSError, ValueError, IndexError):
        return os.getpid() % len(cpus)


def evaluate(act: Callable[[np.ndarray], Any], env_id: str, seed: int,
             n_episodes: int) -> float:
    """The mean return of n_episodes episodes on a fresh env.

    Args:
        act: Maps one observation to one action (deterministically).
        env_id: The gymnasium env id.
        seed: The run's seed (episodes reset with eval_seed).
        n_episodes: How many episodes.

    Returns:
        The mean undiscounted episode return.
    """
    env = gymnasium.make(env_id)
    returns = []
    for episode in range(n_episodes):
        observation, _ = env.reset(seed=eval_seed(seed, episode))
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(
                act(observation))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


class EvaluationClock:
    """Evaluates every ``every`` env steps and keeps evaluation off the clock.

    Call ``start`` when learning starts, ``step(n)`` after env step n, and
    ``finish(n)`` at the end; each prints its JSON line (module docstring).
    """

    def __init__(self, act: Callable[[np.ndarray], Any], env_id: str,
                 seed: int, every: int, n_episodes: int, out=None):
        """
        Args:
            act: The deterministic policy (one observation -> one action).
            env_id: The env id evaluations play.
            seed: The run's seed.
            every: Evaluate after every this many env steps.
            n_episodes: Episodes per evaluation.
            out: Where the lines go (None: stdout).
        """
        self._act, self._env_id, self._seed = act, env_id, seed
        self._every, self._n_episodes = every, n_episodes
        self._out = out
        self._start: Optional[float] = None
        self._eval_s = 0.0

    def start(self) -> None:
        """Starts the learning clock."""
        self._start = time.perf_counter()
        self._eval_s = 0.0

    def train_s(self, now: Optional[float] = None) -> float:
        """Learning wall time so far (evaluations excluded)."""
        now = time.perf_counter() if now is None else now
        return now - self._start - self._eval_s

    def step(self, steps: int) -> None:
        """Evaluates (and prints) if ``steps`` is a multiple of every."""
        if steps % self._every:
            return
        start = time.perf_counter()
        train_s = self.train_s(start)
        eval_return = evaluate(self._act, self._env_id, self._seed,
                               self._n_episodes)
        self._eval_s += time.perf_counter() - start
        self._print({'steps': steps, 'eval_return': eval_return,
                     'train_s': train_s})

    def finish(self, steps: int) -> None:
        """Prints the final line."""
        self._print({'done': True, 'steps': steps, 'train_s': self.train_s()})

    def _print(self, record: dict) -> None:
        print_record(record, self._out)


def print_record(record: dict, out=None) -> None:
    """Prints record as one JSON line (on out; None: stdout), flushed."""
    print(json.dumps(record), file=out or sys.stdout, flush=True)
