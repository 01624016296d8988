"""Shooting throughput: the quickstart config against a bare hand-written loop.

Both sides do the same work: random-shooting MPC on CartPole, at every real
step ``n_rollouts`` random rollouts of at most ``rollout_time_limit`` steps
from the cloned state. Env steps per second count real and rollout steps.
The bare loop uses gymnasium's own CartPole with state cloning by hand; it is
the cost of the work with no framework around it.

    python3 benchmarks/shooting_throughput.py [--quick]
"""

import argparse
import os
import tempfile
import time

import gin
import gymnasium
import numpy as np

from alpacka import envs
from alpacka import runner as runner_lib

CONFIG = os.path.join(os.path.dirname(__file__), '..', 'alpacka', 'configs',
                      'shooting_random_cartpole.gin')


def run_alpacka(n_envs: int, time_limit: int, n_rollouts: int,
                rollout_time_limit: int, n_epochs: int) -> tuple:
    """Runs the quickstart's epochs; returns (env steps, seconds)."""
    gin.clear_config()
    gin.parse_config_files_and_bindings([CONFIG], [
        f'Runner.n_envs = {n_envs}',
        f'Runner.episode_time_limit = {time_limit}',
        f'ShootingAgent.n_rollouts = {n_rollouts}',
        f'ShootingAgent.rollout_time_limit = {rollout_time_limit}',
        'Runner.checkpoint_every = 0',
        'Runner.seed = 0',
    ])
    with tempfile.TemporaryDirectory() as output_dir:
        runner = runner_lib.Runner(output_dir)
        # pylint: disable=protected-access
        env_steps = 0
        start = time.perf_counter()
        for _ in range(n_epochs):
            episodes = runner._gather(runner.epoch)
            runner._epoch += 1
            for episode in episodes:
                env_steps += len(episode) + int(
                    episode.transition_batch.agent_info['model_steps'].sum())
        seconds = time.perf_counter() - start
        runner.close()
    return env_steps, seconds


class _GymnasiumCloning:
    """Clones gymnasium's CartPole by hand: its state array and fall flag."""

    def __init__(self):
        self.env = gymnasium.make('CartPole-v1').unwrapped

    def clone_state(self):
        """Copies the state."""
        return self.env.state.copy()

    def restore_state(self, state):
        """Puts a copy back."""
        self.env.state = state.copy()
        self.env.steps_beyond_terminated = None


class _AlpackaCloning:
    """Alpacka's CartPole through its own clone_state/restore_state."""

    def __init__(self):
        self.env = envs.CartPole()
        self.clone_state = self.env.clone_state
        self.restore_state = self.env.restore_state


def run_bare(model, n_episodes: int, time_limit: int, n_rollouts: int,
             rollout_time_limit: int) -> tuple:
    """The same MPC written by hand as one loop; (env steps, seconds)."""
    env = model.env
    rng = np.random.default_rng(0)
    env_steps = 0
    start = time.perf_counter()
    for episode in range(n_episodes):
        env.reset(seed=episode)
        for _ in range(time_limit):
            root_state = model.clone_state()
            totals = np.zeros(2)
            counts = np.zeros(2)
            actions = rng.integers(2, size=(n_rollouts, rollout_time_limit))
            for rollout in range(n_rollouts):
                model.restore_state(root_state)
                rollout_return = 0.0
                for action in actions[rollout].tolist():
                    _, reward, terminated, _, _ = env.step(action)
                    rollout_return += reward
                    env_steps += 1
                    if terminated:
                        break
                totals[actions[rollout, 0]] += rollout_return
                counts[actions[rollout, 0]] += 1
            model.restore_state(root_state)
            scores = np.where(counts > 0, totals / np.maximum(counts, 1),
                              -np.inf)
            _, _, terminated, _, _ = env.step(int(np.argmax(scores)))
            env_steps += 1
            if terminated:
                break
    return env_steps, time.perf_counter() - start


def main() -> None:
    """Runs both sides and prints steps per second and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args()
    n_envs, time_limit = 8, 50
    n_rollouts, rollout_time_limit = 32, 16
    n_epochs = 1 if args.quick else 3

    alpacka_steps, alpacka_seconds = run_alpacka(
        n_envs, time_limit, n_rollouts, rollout_time_limit, n_epochs)
    rows = [('alpacka quickstart (LocalBatch)', alpacka_steps,
             alpacka_seconds)]
    for name, model in (('bare loop, gymnasium CartPole', _GymnasiumCloning()),
                        ('bare loop, alpacka CartPole', _AlpackaCloning())):
        rows.append((name, *run_bare(model, n_envs * n_epochs, time_limit,
                                     n_rollouts, rollout_time_limit)))
    print(f'Shooting on CartPole: {n_envs} envs x {time_limit} steps x '
          f'{n_rollouts} rollouts of <= {rollout_time_limit} steps, '
          f'{n_epochs} epoch(s)')
    print(f'{"side":<34}{"env steps":>12}{"seconds":>10}{"steps/s":>12}')
    for name, steps, seconds in rows:
        print(f'{name:<34}{steps:>12}{seconds:>10.2f}{steps / seconds:>12.0f}')
    alpacka_rate = rows[0][1] / rows[0][2]
    for name, steps, seconds in rows[1:]:
        print(f'alpacka / {name}: {alpacka_rate / (steps / seconds):.2f}')


if __name__ == '__main__':
    main()
