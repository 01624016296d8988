"""DQN on CartPole-v1: Alpacka's dqn_cartpole.gin against Stable-Baselines3's DQN.

Through benchmarks/harness.py: ``alpacka/configs/dqn_cartpole.gin`` against
Stable-Baselines3's DQN with rl-baselines3-zoo's tuned CartPole-v1 settings
(sb3_peer.py, in its own virtualenv), 3 seeds each, --steps env steps
(50,000 by default, the zoo's budget), 10 greedy evaluation episodes after
every epoch of the config (its ``Runner.env_steps_per_epoch``; the peer
evaluates as often), two runs at a time, one thread per run.

It reports, per side, the env steps and the training wall time (collection
and updates; start-up and evaluations excluded) to the first evaluation of
475 or more, the median over seeds (a seed that never gets there counts as
never), each seed's best evaluation, the ratios Alpacka / SB3, and the
harness's usual tables: the interquartile mean of the evaluation return at
fixed budgets and of the training time to the last one, with 95%
stratified-bootstrap intervals, and the per-seed table.

Usage (about 15 minutes for 3 seeds of 50,000 steps on 2 cores, if each run
takes 5 minutes or less):
    python benchmarks/dqn_cartpole.py [--seeds 3] [--steps 50000]
        [--config_file alpacka/configs/dqn_cartpole.gin]
        [--steps_per_epoch N] [--goal 475] [--root DIR] [--jobs 2]
        [--sides alpacka sb3-dqn] [--config BINDING ...]
"""

import argparse
import os
import sys
from typing import List, Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # pylint: disable=wrong-import-position

CONFIG = 'alpacka/configs/dqn_cartpole.gin'
GOAL = 475.0
EVAL_EPISODES = 10


def add_dqn_arguments(parser: argparse.ArgumentParser, config: str,
                      steps: int) -> None:
    """The flags the DQN learning benchmarks share (besides the harness's).

    Args:
        parser: Where to add them.
        config: The default --config_file.
        steps: The default --steps.
    """
    harness.add_protocol_arguments(parser, seeds=3)
    parser.add_argument('--config_file', default=config,
                        help='the Alpacka config (default %(default)s)')
    parser.add_argument('--steps', type=int, default=steps,
                        help='env steps per run (default %(default)s)')
    parser.add_argument('--steps_per_epoch', type=int, default=None,
                        help="the config's Runner.env_steps_per_epoch "
                             '(default: read from the config)')
    parser.add_argument('--config', action='append', default=[],
                        help='an extra Gin binding for the Alpacka runs')


def steps_per_epoch(args: argparse.Namespace) -> int:
    """--steps_per_epoch, or the config's where not given."""
    return args.steps_per_epoch or harness.config_steps_per_epoch(
        args.config_file)


def peer_arguments(env_id: str, steps: int, eval_every: int,
                   eval_episodes: int = EVAL_EPISODES) -> List[str]:
    """sb3_peer.py's arguments for a DQN run on env_id."""
    return ['learn', '--algo', 'dqn', '--env', env_id, '--steps', str(steps),
            '--eval_every', str(eval_every), '--eval_episodes',
            str(eval_episodes), '--threads', '1']


def budgets_up_to(steps: int, every: int, n_budgets: int = 5
                  ) -> List[float]:
    """Up to n_budgets budgets spread evenly up to steps: multiples of every
    (the evaluation period), and steps itself last."""
    marks = {every * max(1, round(steps * (i + 1) / (n_budgets * every)))
             for i in range(n_budgets - 1)}
    return sorted(float(mark) for mark in marks if mark < steps) + [
        float(steps)]


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Runs both contenders over the seeds and prints the report.

    Returns:
        harness.run_protocol's aggregates (with the goal summaries).
    """
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    add_dqn_arguments(parser, CONFIG, 50_000)
    parser.add_argument('--goal', type=float, default=GOAL,
                        help='the evaluation return to reach '
                             '(default %(default)s)')
    args = parser.parse_args(argv)
    every = steps_per_epoch(args)
    sides = [harness.alpacka_side('alpacka', args.config_file, args.steps,
                                  every, args.config),
             *harness.peer_sides([('sb3-dqn', 'sb3', peer_arguments(
                 'CartPole-v1', args.steps, every))])]
    print(f'Learning CartPole-v1: {args.steps:,} env steps per seed, '
          f'evaluations every {every:,}.')
    return harness.run_protocol(args, sides, budgets_up_to(args.steps, every),
                                time_budget=args.steps, goal=args.goal)


if __name__ == '__main__':
    main()
