"""The Stable-Baselines3 side of benchmarks/sac_pendulum.py (not Alpacka code).

Runs in a separate virtualenv that has stable-baselines3 and the CPU build
of torch (see sac_pendulum.py, which launches it); it imports nothing from
Alpacka. Prints one JSON object per line on stdout.

Modes:
    learn: SAC with Stable-Baselines3's tuned Pendulum settings (learning
        rate 1e-3, otherwise defaults: 256x256, batch 256, 100 random steps,
        one update per step). Every --eval_every steps it plays
        --eval_episodes deterministic episodes and prints
        ``{"steps", "eval_return", "train_s"}``; train_s is the wall time
        spent in learning so far, evaluation excluded.
    updates: fills the replay with --fill random steps, then times
        --n_updates gradient updates at batch 256 and prints
        ``{"updates_per_s"}``.

Usage:
    python sb3_sac.py learn --seed 0 --steps 5000
    python sb3_sac.py updates --n_updates 1000
"""

import argparse
import json
import time

import gymnasium
import numpy as np
# Only in the Stable-Baselines3 virtualenv, not in Alpacka's.
from stable_baselines3 import SAC  # pylint: disable=import-error
from stable_baselines3.common.callbacks import BaseCallback  # pylint: disable=import-error


def _evaluate(model, seed: int, n_episodes: int) -> float:
    env = gymnasium.make('Pendulum-v1')
    returns = []
    for episode in range(n_episodes):
        observation, _ = env.reset(seed=10_000 * (seed + 1) + episode)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


class _EvaluateEvery(BaseCallback):
    """Evaluates every n steps, keeping its own time out of train_s."""

    def __init__(self, every: int, n_episodes: int, seed: int):
        super().__init__()
        self._every, self._n_episodes, self._seed = every, n_episodes, seed
        self._start = None
        self._eval_time = 0.0

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()

    def _on_step(self) -> bool:
        if self.num_timesteps % self._every == 0:
            start = time.perf_counter()
            eval_return = _evaluate(self.model, self._seed, self._n_episodes)
            end = time.perf_counter()
            self._eval_time += end - start
            print(json.dumps({
                'steps': self.num_timesteps, 'eval_return': eval_return,
                'train_s': start - self._start - (self._eval_time -
                                                  (end - start))}),
                flush=True)
        return True


def _model(seed: int) -> SAC:
    return SAC('MlpPolicy', gymnasium.make('Pendulum-v1'), learning_rate=1e-3,
               seed=seed, verbose=0, device='cpu')


def main() -> None:
    """Runs the mode given on the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('mode', choices=['learn', 'updates'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--steps', type=int, default=5000)
    parser.add_argument('--eval_every', type=int, default=500)
    parser.add_argument('--eval_episodes', type=int, default=10)
    parser.add_argument('--n_updates', type=int, default=1000)
    parser.add_argument('--fill', type=int, default=2000)
    args = parser.parse_args()
    model = _model(args.seed)
    if args.mode == 'learn':
        model.learn(total_timesteps=args.steps, callback=_EvaluateEvery(
            args.eval_every, args.eval_episodes, args.seed))
        return
    # Fill the replay without training (learning_starts beyond the fill).
    model.learning_starts = args.fill + 1
    model.learn(total_timesteps=args.fill)
    model.train(gradient_steps=20, batch_size=256)  # Warm-up.
    start = time.perf_counter()
    model.train(gradient_steps=args.n_updates, batch_size=256)
    elapsed = time.perf_counter() - start
    print(json.dumps({'updates_per_s': args.n_updates / elapsed}), flush=True)


if __name__ == '__main__':
    main()
