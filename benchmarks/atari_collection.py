"""Atari collection speed: Alpacka's stepper against a bare ale-py loop.

Both sides play Breakout with random actions and the same Nature DQN
preprocessing (sticky actions 0.25, frame skip 4 with max-pooling of the
last two frames, 84x84 grey frames resized by Pillow's box filter, no-op
starts, FIRE at reset), stacked 4 deep:

- Alpacka: ``FrameStack(AtariEnv, n_frames=4)`` envs stepped by
  ``LocalBatchStepper.run_steps`` with an agent (``--agent``, default
  RandomAgent, with a network from ``--network`` when it asks for one), the
  transitions recorded as for a trainer;
- bare: the same ale-py env (``ALE/Breakout-v5``, ``frameskip=1``) driven
  through its ALEInterface by a hand-written loop: the preprocessing,
  a numpy frame stack, random actions; no Alpacka.

gymnasium's ``AtariPreprocessing`` would be the natural bare loop, but it
refuses to start without OpenCV, which is not installed here; the bare loop
does its steps by hand (what AtariEnv does too), so both sides pay for the
same resize.

The speed is emulator frames per second (agent steps x frame skip). For
each number of envs (default 1 and 8) the sides are measured in interleaved
repeats; printed are the median of each side, their ratio Alpacka / bare,
and the median of the ratios of the pairs run back to back ("paired", the
steadier figure on a busy machine). The issue's goal is a ratio of at least
0.8.

Usage:
    python benchmarks/atari_collection.py [--n_envs 1 8] [--steps 2000]
        [--repeats 3] [--agent alpacka.agents.RandomAgent]
        [--network alpacka.networks.DummyNetwork] [--config BINDING ...]
"""

import argparse
import functools
import importlib
import os
import statistics
import time
from typing import Callable, Dict, List

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import gin  # pylint: disable=wrong-import-position
import gymnasium  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
from PIL import Image  # pylint: disable=wrong-import-position

from alpacka import batch_steppers, envs  # pylint: disable=wrong-import-position

FRAME_SKIP = 4
N_FRAMES = 4
NOOP_MAX = 30
STICKY = 0.25
SIZE = 84


def _resolve(dotted: str) -> Callable:
    """'alpacka.agents.RandomAgent' -> the class."""
    module, name = dotted.rsplit('.', 1)
    return getattr(importlib.import_module(module), name)


class BareBreakout:
    """ale-py Breakout with the preprocessing and a frame stack, by hand."""

    def __init__(self, seed: int):
        import ale_py  # pylint: disable=import-outside-toplevel
        gymnasium.register_envs(ale_py)
        self._env = gymnasium.make(
            'ALE/Breakout-v5', frameskip=1, obs_type='grayscale',
            repeat_action_probability=STICKY).unwrapped
        self._ale = self._env.ale
        self._actions = self._ale.getMinimalActionSet()
        self._rng = np.random.default_rng(seed)
        self._buffers = np.zeros((2, 210, 160), np.uint8)
        self._stack = None
        self.reset(seed)

    def _observation(self) -> np.ndarray:
        frame = np.maximum(self._buffers[0], self._buffers[1])
        return np.asarray(Image.fromarray(frame).resize(
            (SIZE, SIZE), Image.Resampling.BOX))

    def _frames(self, action: int) -> bool:
        """frame_skip frames of action; True when the game ended."""
        for frame in range(FRAME_SKIP):
            self._ale.act(self._actions[action])
            if self._ale.game_over():
                return True
            if frame >= FRAME_SKIP - 2:
                self._ale.getScreenGrayscale(
                    self._buffers[FRAME_SKIP - 1 - frame])
        return False

    def reset(self, seed=None) -> np.ndarray:
        """No-ops, FIRE, and the first observation repeated on the stack."""
        self._env.reset(seed=seed)
        for _ in range(self._env.np_random.integers(1, NOOP_MAX + 1)):
            self._ale.act(self._actions[0])
        self._ale.getScreenGrayscale(self._buffers[0])
        self._buffers[1].fill(0)
        self._frames(1)
        self._stack = np.repeat(self._observation()[np.newaxis], N_FRAMES, 0)
        return self._stack.copy()

    def step(self) -> np.ndarray:
        """One random agent step; resets when the game ends."""
        if self._frames(int(self._rng.integers(len(self._actions)))):
            return self.reset()
        self._stack[:-1] = self._stack[1:]
        self._stack[-1] = self._observation()
        return self._stack.copy()


def _measure_bare(bare_envs: List[BareBreakout], steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        for env in bare_envs:
            env.step()
    return steps * len(bare_envs) * FRAME_SKIP / (time.perf_counter() - start)


def _measure_alpacka(stepper, params, steps: int, n_envs: int) -> float:
    start = time.perf_counter()
    batch = stepper.run_steps(params, steps)
    elapsed = time.perf_counter() - start
    assert batch.n_steps == steps * n_envs
    return steps * n_envs * FRAME_SKIP / elapsed


def _alpacka_stepper(n_envs: int, agent_class: Callable,
                     network_class: Callable):
    env_fn = functools.partial(envs.FrameStack, envs.AtariEnv,
                               n_frames=N_FRAMES, frame_skip=FRAME_SKIP,
                               noop_max=NOOP_MAX,
                               repeat_action_probability=STICKY)
    probe = env_fn()
    signature = agent_class().network_signature(probe.observation_space,
                                                probe.action_space)
    network_fn = functools.partial(network_class, network_signature=signature)
    params = network_fn().params
    stepper = batch_steppers.LocalBatchStepper(
        env_class=env_fn, agent_class=agent_class, network_fn=network_fn,
        n_envs=n_envs, seed=0)
    return stepper, params


def run(n_envs: int, steps: int, repeats: int, agent_class: Callable,
        network_class: Callable) -> Dict[str, float]:
    """Median frames/s of each side over interleaved repeats."""
    stepper, params = _alpacka_stepper(n_envs, agent_class, network_class)
    bare_envs = [BareBreakout(seed) for seed in range(n_envs)]
    per_env = max(steps // n_envs, 1)
    # Warm-up: the first steps (and a network's first call) cost more.
    stepper.run_steps(params, 20)
    _measure_bare(bare_envs, 20)
    alpacka, bare = [], []
    for _ in range(repeats):
        alpacka.append(_measure_alpacka(stepper, params, per_env, n_envs))
        bare.append(_measure_bare(bare_envs, per_env))
    stepper.close()
    return {'alpacka': statistics.median(alpacka),
            'bare': statistics.median(bare),
            # Each repeat's pair ran back to back, under the same load.
            'paired_ratio': statistics.median(
                a / b for a, b in zip(alpacka, bare)),
            'alpacka_all': alpacka, 'bare_all': bare}


def main() -> None:
    """Parses the flags, measures, prints a table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--n_envs', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--steps', type=int, default=2000,
                        help='Agent steps per measurement, all envs '
                             'together.')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--agent', default='alpacka.agents.RandomAgent',
                        help='Agent class (dotted path; Gin bindings from '
                             '--config apply).')
    parser.add_argument('--network', default='alpacka.networks.DummyNetwork',
                        help='Network class (dotted path), built with the '
                             'agent\'s signature.')
    parser.add_argument('--config', action='append', default=[],
                        help='Gin binding, e.g. for the agent or network.')
    args = parser.parse_args()
    for binding in args.config:
        gin.parse_config(binding)
    agent_class, network_class = _resolve(args.agent), _resolve(args.network)
    print(f'Breakout, frame skip {FRAME_SKIP}, {N_FRAMES}-frame stacks, '
          f'{args.agent}; {args.steps} agent steps per measurement, '
          f'{args.repeats} interleaved repeats (median).')
    print(f'{"envs":>5} {"alpacka frames/s":>17} {"bare frames/s":>14} '
          f'{"ratio":>6} {"paired":>6}')
    for n_envs in args.n_envs:
        result = run(n_envs, args.steps, args.repeats, agent_class,
                     network_class)
        print(f'{n_envs:>5} {result["alpacka"]:>17.0f} {result["bare"]:>14.0f}'
              f' {result["alpacka"] / result["bare"]:>6.2f}'
              f' {result["paired_ratio"]:>6.2f}   (alpacka '
              f'{[round(x) for x in result["alpacka_all"]]}, bare '
              f'{[round(x) for x in result["bare_all"]]})', flush=True)


if __name__ == '__main__':
    main()
