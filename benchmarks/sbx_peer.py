"""SBX (Stable-Baselines in JAX) as a peer of the learning benchmarks (not
Alpacka code).

Runs in the 'sbx' virtualenv (peer_venvs.py: sbx-rl 0.28 with JAX on the
CPU) and imports nothing from Alpacka. Prints JSON lines on stdout, with the
evaluation protocol and timing of peer_common.py (train_s includes JAX's
compilation of the update, which happens while learning).

learn --algo, on Pendulum-v1:
    * sac: SBX's SAC with the settings sb3_peer.py gives SB3's SAC
      (rl-baselines3-zoo's hyperparams/sac.yml: learning rate 1e-3; SBX's
      other defaults are SB3's: 256x256, batch 256, 100 random steps, one
      update per step, tau 0.005, automatic entropy coefficient);
    * crossq: SBX's CrossQ with rl-baselines3-zoo's hyperparams/crossq.yml
      Pendulum-v1 entry (commit 22e3ff2, 2026-04-23, which SBX's README
      says to use with SBX's CrossQ): policy delay 2 and 256x256 actor and
      critics; the rest SBX's defaults (learning rate 1e-3, Adam b1 0.5,
      batch renormalisation with momentum 0.99, no target network, batch
      256, 100 random steps, one update per step).

Usage:
    python sbx_peer.py learn --algo crossq --env Pendulum-v1 --seed 0 \\
        --steps 5000 [--eval_every 500] [--eval_episodes 10] [--threads 1]
"""

import argparse
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # pylint: disable=wrong-import-position
import sb3_peer  # pylint: disable=wrong-import-position

ALGOS = ['sac', 'crossq']
ENV_IDS = ['Pendulum-v1']


def make_model(algo: str, env_id: str, seed: int) -> Any:
    """The SBX model with the settings of the module docstring.

    Args:
        algo: 'sac' or 'crossq'.
        env_id: 'Pendulum-v1'.
        seed: The model's seed.

    Returns:
        An sbx SAC or CrossQ on gymnasium.make(env_id).
    """
    import gymnasium  # pylint: disable=import-outside-toplevel
    # Only in the SBX virtualenv, not in Alpacka's.
    import sbx  # pylint: disable=import-outside-toplevel,import-error
    env = gymnasium.make(env_id)
    if algo == 'sac':
        return sbx.SAC('MlpPolicy', env, learning_rate=1e-3, seed=seed,
                       verbose=0)
    return sbx.CrossQ('MlpPolicy', env, policy_delay=2,
                      policy_kwargs={'net_arch': [256, 256]}, seed=seed,
                      verbose=0)


def parser() -> argparse.ArgumentParser:
    """The command line (module docstring)."""
    result = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    modes = result.add_subparsers(dest='mode', required=True)
    peer_common.add_learn_arguments(modes.add_parser('learn'), ALGOS, ENV_IDS)
    return result


def main() -> None:
    """Runs the mode given on the command line."""
    args = parser().parse_args()
    # Both before JAX is imported: it reads them once.
    os.environ.setdefault('JAX_PLATFORMS', 'cpu')
    peer_common.limit_threads(args.threads, pin_cpus=True)
    sb3_peer.learn(make_model(args.algo, args.env, args.seed), args)


if __name__ == '__main__':
    main()
