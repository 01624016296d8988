"""Partial observability on CartPole: can an LSTM replace frame stacking?

Through benchmarks/harness.py, three Alpacka sides on CartPoleNoVel
(CartPole-v1 observing the cart's position and the pole's angle only, as
rl-zoo's CartPoleNoVel), 3 seeds each, --steps env steps (100,000 by
default), two runs at a time, one thread per run:

* ``feedforward``: ``dqn_cartpole.gin`` on CartPoleNoVel
  (``Runner.env_class=@alpacka.envs.CartPoleNoVel``): one observation is
  not enough to balance, so it should stay far below 475;
* ``stack``: ``dqn_cartpole_novel_stack.gin`` (the last frames stacked);
* ``lstm``: ``dqn_cartpole_novel_lstm.gin`` (a recurrent Q-network, no
  stack);
* with --peer, also ``sb3-dqn-stack``: Stable-Baselines3's DQN with the
  zoo's CartPole-v1 settings on a stack of 4 masked observations
  (sb3_peer.py).

Each side evaluates (greedy, 10 episodes in the configs) after each epoch of
its own config. It reports, per side, the env steps and minutes of training
(collection and updates; start-up and evaluations excluded) to the first
evaluation of 475 or more, the median over seeds, the best evaluation of
each seed (for the feed-forward side: how far below 475 it stays), and the
harness's tables of returns at fixed budgets.

Usage (an LSTM run of 100,000 steps may take 10-20 minutes on one core;
3 seeds x 3 sides two at a time, expect about 1-1.5 hours):
    python benchmarks/dqn_partial_observability.py [--seeds 3]
        [--steps 100000] [--root DIR] [--jobs 2]
        [--sides feedforward stack lstm] [--peer] [--goal 475]
        [--feedforward_config alpacka/configs/dqn_cartpole.gin]
        [--stack_config alpacka/configs/dqn_cartpole_novel_stack.gin]
        [--lstm_config alpacka/configs/dqn_cartpole_novel_lstm.gin]
        [--config BINDING ...]
"""

import argparse
import os
import sys
from typing import Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dqn_cartpole  # pylint: disable=wrong-import-position
import harness  # pylint: disable=wrong-import-position

CONFIGS = {'feedforward': 'alpacka/configs/dqn_cartpole.gin',
           'stack': 'alpacka/configs/dqn_cartpole_novel_stack.gin',
           'lstm': 'alpacka/configs/dqn_cartpole_novel_lstm.gin'}
# The feed-forward side is dqn_cartpole.gin with its env swapped.
NO_VEL_ENV = 'Runner.env_class=@alpacka.envs.CartPoleNoVel'


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Runs the sides over the seeds and prints the report.

    Returns:
        harness.run_protocol's aggregates (with the goal summaries).
    """
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    harness.add_protocol_arguments(parser, seeds=3)
    parser.add_argument('--steps', type=int, default=100_000)
    for name, config in CONFIGS.items():
        parser.add_argument(f'--{name}_config', default=config,
                            help=f'the {name} side (default %(default)s)')
    parser.add_argument('--peer', action='store_true',
                        help='also run SB3 DQN on 4 stacked observations')
    parser.add_argument('--goal', type=float, default=dqn_cartpole.GOAL)
    parser.add_argument('--config', action='append', default=[],
                        help='an extra Gin binding for every Alpacka side')
    args = parser.parse_args(argv)
    sides, periods = [], []
    for name in CONFIGS:
        config_file = getattr(args, f'{name}_config')
        every = harness.config_steps_per_epoch(config_file)
        periods.append(every)
        bindings = ([NO_VEL_ENV] if name == 'feedforward' else []) + list(
            args.config)
        sides.append(harness.alpacka_side(name, config_file, args.steps,
                                          every, bindings))
    if args.peer:
        sides += harness.peer_sides([('sb3-dqn-stack', 'sb3',
                                      dqn_cartpole.peer_arguments(
                                          'CartPoleNoVel', args.steps,
                                          min(periods)))])
    print(f'Learning CartPoleNoVel: {args.steps:,} env steps per seed; '
          f'evaluations every {", ".join(f"{p:,}" for p in periods)} steps.')
    aggregates = harness.run_protocol(
        args, sides, dqn_cartpole.budgets_up_to(args.steps, max(periods)),
        time_budget=args.steps, goal=args.goal)
    print(f'\nMinutes of training to {args.goal:g} (median over seeds):')
    for name, aggregate in aggregates.items():
        goal = aggregate['goal']
        minutes = ('never' if goal['train_s'] is None else
                   f'{goal["train_s"] / 60:.1f} min, {goal["steps"]:,.0f} '
                   f'steps')
        print(f'  {name}: {minutes} ({goal["reached"]}/{goal["n_seeds"]} '
              f'seeds reached it; best evaluation '
              f'{max(goal["best"], default=float("nan")):.0f})')
    return aggregates


if __name__ == '__main__':
    main()
