"""DQN on MinAtar Breakout: Alpacka's dqn_minatar_breakout.gin against
Stable-Baselines3's DQN with MinAtar's published baseline settings.

Through benchmarks/harness.py: ``alpacka/configs/dqn_minatar_breakout.gin``
against Stable-Baselines3's DQN given MinAtar's DQN network and settings
(Young & Tian 2019, as MinAtar's examples/dqn.py sets them: see
sb3_peer.py and sb3_dqn.py), 3 seeds each, scored at fixed frame budgets
(100,000, 250,000 and 500,000 by default; frames are env steps, MinAtar has
no frame skip), two runs at a time, one thread per run. Both evaluate
greedily every --eval_every frames (default: the config's
``Runner.env_steps_per_epoch``; the config's EvaluationCallback decides
Alpacka's episodes, the peer plays --eval_episodes).

It reports the interquartile mean over seeds of the evaluation return at
each budget with its 95% stratified-bootstrap interval, whether the two
sides' intervals overlap, the training wall time to the last budget
(collection and updates; start-up and evaluation excluded) and the per-seed
table.

--peer_env picks the peer's env: 'MinAtar/Breakout-v1' (3 actions, the
minimal set) or 'MinAtar/Breakout-v0' (all 6, as examples/dqn.py plays);
use the one the Alpacka config plays.

Usage (a 500,000-frame run, one update per frame, takes roughly 1-2 hours
on one core; 3 seeds x 2 sides two at a time: about 3-6 hours; resumable
with --root):
    python benchmarks/dqn_minatar.py [--seeds 3]
        [--budgets 100000 250000 500000] [--eval_every N]
        [--eval_episodes 10] [--peer_env MinAtar/Breakout-v1]
        [--config_file alpacka/configs/dqn_minatar_breakout.gin]
        [--steps_per_epoch N] [--root DIR] [--jobs 2]
        [--sides alpacka sb3-dqn] [--config BINDING ...]
"""

import argparse
import os
import sys
from typing import Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dqn_cartpole  # pylint: disable=wrong-import-position
import harness  # pylint: disable=wrong-import-position

CONFIG = 'alpacka/configs/dqn_minatar_breakout.gin'
BUDGETS = (100_000, 250_000, 500_000)
PEER_ENVS = ('MinAtar/Breakout-v1', 'MinAtar/Breakout-v0')


def parse(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (module docstring); --steps is the last budget."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    dqn_cartpole.add_dqn_arguments(parser, CONFIG, max(BUDGETS))
    parser.add_argument('--budgets', type=int, nargs='+',
                        default=list(BUDGETS),
                        help='frame budgets to score at (the last one is '
                             'the run length; default %(default)s)')
    parser.add_argument('--eval_every', type=int, default=None,
                        help="the peer's evaluation period (default: the "
                             "config's steps per epoch)")
    parser.add_argument('--eval_episodes', type=int,
                        default=dqn_cartpole.EVAL_EPISODES)
    parser.add_argument('--peer_env', choices=PEER_ENVS,
                        default=PEER_ENVS[0])
    args = parser.parse_args(argv)
    args.budgets = sorted(args.budgets)
    args.steps = args.budgets[-1]
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Runs both contenders over the seeds and prints the report.

    Returns:
        harness.run_protocol's aggregates.
    """
    args = parse(argv)
    every = dqn_cartpole.steps_per_epoch(args)
    eval_every = args.eval_every or every
    sides = [harness.alpacka_side('alpacka', args.config_file, args.steps,
                                  every, args.config),
             *harness.peer_sides([('sb3-dqn', 'sb3', dqn_cartpole.peer_arguments(
                 args.peer_env, args.steps, eval_every,
                 args.eval_episodes))])]
    print(f'Learning MinAtar Breakout: {args.steps:,} frames per seed, '
          f'evaluations every {every:,} (Alpacka) and {eval_every:,} '
          f'({args.peer_env}, SB3).')
    return harness.run_protocol(args, sides, args.budgets,
                                time_budget=args.steps)


if __name__ == '__main__':
    main()
