"""Discrete-action Soft Actor-Critic on CartPole-v1 against Stable-Baselines3's DQN.

Through benchmarks/harness.py: ``alpacka/configs/sac_cartpole.gin`` (SAC with
a categorical policy) against Stable-Baselines3's DQN with rl-baselines3-zoo's
tuned CartPole-v1 settings (the best discrete-action baseline SB3 has for
it; sb3_peer.py, in its own virtualenv), 10 seeds each, --steps env steps
(10,000 by default), 10 greedy evaluation episodes every 1,000 steps, two
runs at a time, one thread per run. It reports the interquartile mean over
seeds of the evaluation return at 2,000 to 10,000 steps and of the training
wall time to 10,000 steps, with 95% stratified-bootstrap confidence
intervals, whether the intervals overlap, and the per-seed table.

DQN follows the zoo's 50,000-step schedule (epsilon over its first 8,000
steps) and is scored at the same budgets as SAC.

Usage:
    python benchmarks/sac_cartpole.py [--seeds 10] [--steps 10000]
        [--root DIR] [--jobs 2] [--sides alpacka sb3-dqn]
        [--config BINDING ...]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO_ROOT, 'alpacka', 'configs', 'sac_cartpole.gin')
STEPS_PER_EPOCH = 1000  # sac_cartpole.gin's Runner.env_steps_per_epoch.


def main() -> None:
    """Runs both contenders over the seeds and prints the report."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    harness.add_protocol_arguments(parser)
    parser.add_argument('--steps', type=int, default=10_000)
    parser.add_argument('--config', action='append', default=[],
                        help='Extra Gin bindings for the Alpacka runs.')
    args = parser.parse_args()
    sides = [harness.alpacka_side('alpacka', CONFIG, args.steps,
                                  STEPS_PER_EPOCH, args.config),
             *harness.peer_sides([('sb3-dqn', 'sb3', [
                 'learn', '--algo', 'dqn', '--env', 'CartPole-v1',
                 '--steps', str(args.steps), '--eval_every',
                 str(STEPS_PER_EPOCH), '--eval_episodes', '10',
                 '--threads', '1'])])]
    budgets = [budget for budget in (2000, 5000, 10_000, 15_000, 20_000,
                                     30_000) if budget <= args.steps]
    print(f'Learning CartPole-v1: {args.steps:,} env steps per seed.')
    harness.run_protocol(args, sides, budgets, time_budget=min(
        10_000, args.steps))


if __name__ == '__main__':
    main()
