"""Stable-Baselines3 as a peer of the learning benchmarks (not Alpacka code).

Runs in the 'sb3' virtualenv (peer_venvs.py: stable-baselines3 and the CPU
torch) and imports nothing from Alpacka. Prints JSON lines on stdout, with
the evaluation protocol and timing of peer_common.py.

Modes:
    learn: trains --algo on --env for --steps env steps, evaluating every
        --eval_every steps, with rl-baselines3-zoo's tuned settings
        (hyperparams/sac.yml and dqn.yml at rl-baselines3-zoo commit
        22e3ff2, 2026-04-23, zoo version 2.9.0a2):
        * sac on Pendulum-v1: learning rate 1e-3, otherwise SB3's defaults
          (256x256 networks, batch 256, 100 random steps, one update per
          env step, automatic entropy coefficient);
        * sac on HalfCheetah-v5: the zoo's MuJoCo entry (HalfCheetah-v4:
          10,000 random steps before learning), otherwise SB3's defaults
          (learning rate 3e-4);
        * dqn on CartPole-v1: learning rate 2.3e-3, batch 64, buffer 100k,
          1000 steps before learning, gamma 0.99, target update every 10
          steps, 128 updates every 256 steps, epsilon from 1 to 0.04 over
          the first 16% of the zoo's 50k steps (8,000 env steps, whatever
          --steps is: the zoo's schedule, cut at --steps), 256x256 network.
          DQN collects 256 steps between updates and stops only at the end
          of such a round, so the final line's steps is --steps rounded up
          to a multiple of 256 (30,208 for 30,000).
        * dqn on CartPoleNoVel (CartPole-v1 observing only the cart's
          position and the pole's angle, as rl-zoo's CartPoleNoVel): the
          zoo has no tuned DQN entry for it, so the CartPole-v1 settings
          above plus a stack of the last 4 observations. The stack is a
          gymnasium wrapper on the env (sb3_dqn.py), not
          SB3's VecFrameStack, so that the evaluation episodes see the
          same stacked observations; it pads the first stack with the
          reset observation where VecFrameStack pads with zeros.
        * dqn on MinAtar/Breakout-v0 and -v1 (v0: all 6 actions, as
          MinAtar's own DQN; v1: the minimal action set): MinAtar's
          published DQN baseline (Young & Tian 2019), as its script
          examples/dqn.py (github.com/kenjyoung/MinAtar, commit 4241f24)
          sets it: one 16-filter 3x3 conv + ReLU and a 128-unit ReLU layer
          under the Q head, replay 100,000, batch 32, gamma 0.99, 5,000
          uniformly random steps before learning, one update per env step,
          target network copied every 1,000 steps, Huber (smooth L1) loss
          and no gradient clipping, centred RMSprop (lr 2.5e-4, alpha
          0.95, eps 0.01), epsilon from 1.0 to 0.1 over the 100,000 steps
          after the random ones, sticky actions 0.1 (MinAtar's default).
          Frames are env steps (MinAtar has no frame skip).
    updates: --algo sac: SAC on Pendulum-v1: fills the replay with --fill
        random steps, then times --n_updates gradient updates at batch 256
        and prints ``{"updates_per_s"}``. --algo dqn: DQN.train at batch 32
        on SB3's NatureCNN with rl-zoo's Atari settings, on 4x84x84 uint8
        observations, the replay filled with --fill random transitions.

Usage:
    python sb3_peer.py learn --algo sac --env Pendulum-v1 --seed 0 \\
        --steps 5000 [--eval_every 500] [--eval_episodes 10] [--threads 1]
    python sb3_peer.py learn --algo dqn --env CartPole-v1 --steps 30000 \\
        --eval_every 1000
    python sb3_peer.py learn --algo dqn --env MinAtar/Breakout-v1 \\
        --steps 500000 --eval_every 25000
    python sb3_peer.py updates [--algo sac] [--n_updates 1000] [--fill 2000]
        [--threads 1]
"""

import argparse
import os
import sys
import time
from typing import Any, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # pylint: disable=wrong-import-position
import sb3_dqn  # pylint: disable=wrong-import-position

# The env each algorithm's tuned settings are for.
TUNED_ENVS = {'sac': ['Pendulum-v1', 'HalfCheetah-v5'],
              'dqn': ['CartPole-v1', sb3_dqn.CARTPOLE_NO_VEL,
                      *sb3_dqn.MINATAR_ENVS]}
# The zoo's SAC settings per env, on top of SB3's defaults.
ZOO_SAC = {'Pendulum-v1': {'learning_rate': 1e-3},
           'HalfCheetah-v5': {'learning_starts': 10_000}}


def limit_threads(n_threads: Optional[int]) -> None:
    """Limits torch (and the BLAS under numpy) to n_threads (None: no limit).

    Runs before torch is imported (peer_common.limit_threads), then sets
    torch's own pools.
    """
    if n_threads is None:
        return
    peer_common.limit_threads(n_threads)
    import torch  # pylint: disable=import-outside-toplevel,import-error
    torch.set_num_threads(n_threads)
    torch.set_num_interop_threads(n_threads)


def make_model(algo: str, env_id: str, seed: int, steps: int) -> Any:
    """The Stable-Baselines3 model with rl-baselines3-zoo's tuned settings.

    Args:
        algo: 'sac' or 'dqn'.
        env_id: One of TUNED_ENVS[algo].
        seed: The model's seed.
        steps: The env steps it will learn for (DQN's epsilon schedule is a
            fraction of them).

    Returns:
        A stable_baselines3 SAC or DQN (sb3_dqn.make_dqn) on
        gymnasium.make(env_id), on the CPU.
    """
    if algo == 'dqn':
        return sb3_dqn.make_dqn(env_id, seed, steps)
    import gymnasium  # pylint: disable=import-outside-toplevel
    # Only in the peer virtualenv, not in Alpacka's.
    import stable_baselines3  # pylint: disable=import-outside-toplevel,import-error
    return stable_baselines3.SAC('MlpPolicy', gymnasium.make(env_id),
                                 seed=seed, verbose=0, device='cpu',
                                 **ZOO_SAC[env_id])


def evaluation_callback(clock: peer_common.EvaluationClock) -> Any:
    """An SB3 callback that drives clock (SBX's algorithms take it too)."""
    # Imported here: torch must not load before limit_threads.
    from stable_baselines3.common.callbacks import BaseCallback  # pylint: disable=import-outside-toplevel,import-error

    class _Evaluate(BaseCallback):

        def _on_training_start(self) -> None:
            clock.start()

        def _on_step(self) -> bool:
            clock.step(self.num_timesteps)
            return True

    return _Evaluate()


def learn(model: Any, args: argparse.Namespace, done_line: bool = True
          ) -> None:
    """Trains model for args.steps, printing the peer protocol's lines.

    Args:
        model: An SB3 (or SBX) off-policy model.
        args: The learn mode's options (peer_common.add_learn_arguments).
        done_line: Print the final ``{"done": true, ...}`` line.
    """
    sb3_dqn.register_envs(args.env)  # The evaluation env, made by name.
    clock = peer_common.EvaluationClock(
        lambda observation: model.predict(observation, deterministic=True)[0],
        args.env, args.seed, args.eval_every, args.eval_episodes)
    model.learn(total_timesteps=args.steps,
                callback=evaluation_callback(clock))
    if done_line:
        clock.finish(model.num_timesteps)


def time_updates(seed: int, fill: int, n_updates: int) -> float:
    """SAC.train's gradient updates per second at batch 256 on Pendulum."""
    model = make_model('sac', 'Pendulum-v1', seed, fill)
    # Fill the replay without training (learning_starts beyond the fill).
    model.learning_starts = fill + 1
    model.learn(total_timesteps=fill)
    model.train(gradient_steps=20, batch_size=256)  # Warm-up.
    start = time.perf_counter()
    model.train(gradient_steps=n_updates, batch_size=256)
    return n_updates / (time.perf_counter() - start)


def parser(threads_default: Optional[int] = 1) -> argparse.ArgumentParser:
    """The command line (module docstring); threads_default: --threads
    when not given (None: no limit)."""
    result = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    modes = result.add_subparsers(dest='mode', required=True)
    peer_common.add_learn_arguments(modes.add_parser('learn'),
                                    list(TUNED_ENVS),
                                    sorted({env for envs in TUNED_ENVS.values()
                                            for env in envs}),
                                    threads_default)
    updates = modes.add_parser('updates')
    updates.add_argument('--algo', choices=list(TUNED_ENVS), default='sac')
    updates.add_argument('--seed', type=int, default=0)
    updates.add_argument('--n_updates', type=int, default=1000)
    updates.add_argument('--fill', type=int, default=2000)
    peer_common.add_threads_argument(updates, threads_default)
    return result


def main(argv: Optional[List[str]] = None, legacy: bool = False) -> None:
    """Runs the mode given on the command line.

    Args:
        argv: The arguments (None: sys.argv[1:]).
        legacy: sb3_sac.py's behaviour: without --threads, torch's threads
            are left as they are, and learn prints no final line.
    """
    command_line = parser(None if legacy else 1)
    args = command_line.parse_args(argv)
    if args.mode == 'learn' and args.env not in TUNED_ENVS[args.algo]:
        command_line.error(f'--algo {args.algo} runs on '
                           f'{", ".join(TUNED_ENVS[args.algo])} (its tuned '
                           f'settings), not {args.env}')
    limit_threads(args.threads)
    if args.mode == 'updates':
        timer = (sb3_dqn.time_dqn_updates if args.algo == 'dqn' else
                 time_updates)
        rate = timer(args.seed, args.fill, args.n_updates)
        peer_common.print_record({'updates_per_s': rate})
        return
    learn(make_model(args.algo, args.env, args.seed, args.steps), args,
          done_line=not legacy)


if __name__ == '__main__':
    main()
