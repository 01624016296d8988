"""Asynchronous SAC on MuJoCo HalfCheetah-v5 against Stable-Baselines3's SAC.

Through benchmarks/harness.py: ``alpacka/configs/sac_halfcheetah_async.gin``
(one collector actor and the learner, asynchronously, one update per env
step after 10,000 random steps) against Stable-Baselines3's SAC with
rl-baselines3-zoo's HalfCheetah settings (sb3_peer.py, in its own
virtualenv), --steps env steps (100,000 by default), 10 deterministic
evaluation episodes every 10,000 steps, --seeds seeds (1 by default: a seed
takes about half an hour per contender on one core). Both contenders run at
once, each on a core of its own with one thread (the asynchronous run's
collector shares the learner's core: at one update per step it waits on
the rate limiter nearly all the time). ``--sides alpacka-sync`` adds
sac_halfcheetah.gin, the same agent trained synchronously.

It reports the evaluation return at 10,000-step budgets and the training
wall time (collection and updates; evaluation and start-up excluded), as
IQM [95% CI] over seeds and per seed, so both learning curves are printed.

Usage:
    python benchmarks/sac_halfcheetah.py [--seeds 1] [--steps 100000]
        [--root DIR] [--jobs 2] [--sides alpacka-async sb3-sac]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO_ROOT, 'alpacka', 'configs')
STEPS_PER_EPOCH = 5000  # sac_halfcheetah.gin's Runner.env_steps_per_epoch.
EVAL_EVERY = 10_000  # Its EvaluationCallback.every_n_epochs = 2.


def main() -> None:
    """Runs the contenders over the seeds and prints the report."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    harness.add_protocol_arguments(parser)
    parser.set_defaults(seeds=1, sides=['alpacka-async', 'sb3-sac'])
    parser.add_argument('--steps', type=int, default=100_000)
    args = parser.parse_args()
    sides = [
        harness.alpacka_side(
            'alpacka-async', os.path.join(CONFIGS, 'sac_halfcheetah_async.gin'),
            args.steps, STEPS_PER_EPOCH),
        harness.alpacka_side(
            'alpacka-sync', os.path.join(CONFIGS, 'sac_halfcheetah.gin'),
            args.steps, STEPS_PER_EPOCH),
        *harness.peer_sides([('sb3-sac', 'sb3', [
            'learn', '--algo', 'sac', '--env', 'HalfCheetah-v5',
            '--steps', str(args.steps), '--eval_every', str(EVAL_EVERY),
            '--eval_episodes', '10', '--threads', '1'])])]
    budgets = list(range(EVAL_EVERY, args.steps + 1, EVAL_EVERY))
    print(f'Learning HalfCheetah-v5: {args.steps:,} env steps per seed.')
    harness.run_protocol(args, sides, budgets, time_budget=args.steps)


if __name__ == '__main__':
    main()
