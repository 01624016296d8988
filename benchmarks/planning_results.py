"""Planning with a perfect model: the returns of the two planning configs.

* ``alpacka/configs/shooting_cartpole.gin``: ShootingAgent (random rollouts)
  on CartPole-v1 dynamics for 500 steps; the target is a return of 500 in
  every episode.
* ``alpacka/configs/cem_pendulum.gin``: CEMAgent on Pendulum for 200 steps
  (as Pendulum-v1); the target is a mean return of -200 or better.

Each config runs through the Runner (one gathering epoch, ``Runner.seed =
0``, one episode per env); the script prints the returns, the agent's
settings and the wall time. Env steps count real and planning steps.

    python3 benchmarks/planning_results.py [--quick]
"""

import argparse
import os
import tempfile
import time
from typing import List, Sequence, Tuple

import gin
import numpy as np

from alpacka import data
from alpacka import runner as runner_lib

CONFIGS = os.path.join(os.path.dirname(__file__), '..', 'alpacka', 'configs')
SHOOTING_SETTINGS = ('n_rollouts', 'rollout_time_limit', 'n_envs',
                     'aggregate_fn', 'agent_class')
CEM_SETTINGS = ('horizon', 'n_iterations', 'population_size',
                'elite_fraction', 'init_std', 'momentum')


def run_config(config: str, n_episodes: int
               ) -> Tuple[List[data.Episode], float]:
    """Gathers one epoch of n_episodes with a config; (episodes, seconds)."""
    gin.clear_config()
    gin.parse_config_files_and_bindings(
        [os.path.join(CONFIGS, config)],
        [f'Runner.n_envs = {n_episodes}', 'Runner.checkpoint_every = 0',
         'Runner.seed = 0'])
    with tempfile.TemporaryDirectory() as output_dir:
        runner = runner_lib.Runner(output_dir)
        start = time.perf_counter()
        episodes = runner._gather(0)  # pylint: disable=protected-access
        seconds = time.perf_counter() - start
        runner.close()
    return episodes, seconds


def settings(agent: str, names: Sequence[str]) -> str:
    """The agent's bound values of names, as ``name=value`` pairs."""
    def show(value):
        return getattr(value, 'selector', value)
    return ', '.join(f'{name}={show(gin.query_parameter(f"{agent}.{name}"))}'
                     for name in names)


def report(title: str, config: str, agent: str, names: Sequence[str],
           n_episodes: int, target: str) -> None:
    """Runs one config and prints its figures."""
    episodes, seconds = run_config(config, n_episodes)
    returns = np.array([episode.return_ for episode in episodes])
    env_steps = sum(len(episode) + int(np.sum(
        episode.transition_batch.agent_info['model_steps']))
                    for episode in episodes)
    print(f'{title} ({config})')
    print(f'  settings: {settings(agent, names)}, '
          f'episode_time_limit={gin.query_parameter("Runner.episode_time_limit")}')
    print(f'  returns over {len(returns)} episodes: mean {returns.mean():.1f}, '
          f'min {returns.min():.1f}, max {returns.max():.1f} ({target})')
    print(f'  per episode: {", ".join(f"{r:.1f}" for r in returns)}')
    print(f'  wall time {seconds:.1f} s (episodes run side by side), '
          f'{env_steps} env steps incl. planning, '
          f'{env_steps / seconds:,.0f} steps/s')


def main() -> None:
    """Runs both configs and prints their returns."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--quick', action='store_true',
                        help='2 episodes per config instead of 4 and 5')
    args = parser.parse_args()
    print(f'load average before: {os.getloadavg()[0]:.2f}')
    report('Shooting, CartPole', 'shooting_cartpole.gin', 'ShootingAgent',
           SHOOTING_SETTINGS, 2 if args.quick else 4, 'target: 500 each')
    report('CEM, Pendulum', 'cem_pendulum.gin', 'CEMAgent', CEM_SETTINGS,
           2 if args.quick else 5, 'target: mean >= -200')
    print(f'load average after: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
