"""Episodes per second: RayBatchStepper (2 workers) vs LocalBatchStepper.

The env is CartPole slowed down to about 2 ms of CPU per step, the kind of
env Ray is for: stepping dominates, so two workers on two cores can at best
double the rate. Both steppers run the same number of episodes of the same
length (the env never terminates; every episode hits the time limit) with
RandomAgent and DummyNetwork. Ray's start-up and the workers' creation are
timed separately, outside the rates; the steppers' batches alternate, after
one untimed batch each.

Usage: python benchmarks/ray_stepper.py [--quick]
"""

import argparse
import functools
import os
import time
from typing import Any, Hashable, Optional

import numpy as np
import ray

from alpacka import agents
from alpacka import envs
from alpacka import networks
from alpacka.batch_steppers import local
from alpacka.batch_steppers import ray as ray_stepper

STEP_CPU_SECONDS = 0.002


class BusyCartPole(envs.ModelEnv):
    """CartPole that burns STEP_CPU_SECONDS of CPU per step and never ends.

    Cart and pole keep moving after CartPole would have terminated, so every
    episode lasts exactly the time limit.
    """

    def __init__(self):
        self._env = envs.CartPole()
        self.observation_space = self._env.observation_space
        self.action_space = self._env.action_space

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[dict] = None) -> tuple:
        return self._env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple:
        deadline = time.thread_time() + STEP_CPU_SECONDS
        while time.thread_time() < deadline:
            pass
        observation, reward, _, truncated, info = self._env.step(action)
        return observation, reward, False, truncated, info

    def render(self) -> Any:
        return self._env.render()

    def clone_state(self) -> Hashable:
        return self._env.clone_state()

    def restore_state(self, state: Hashable) -> np.ndarray:
        return self._env.restore_state(state)


def _time_batch(stepper: Any, n_envs: int, episode_length: int) -> float:
    """Runs one batch; returns its wall time in seconds."""
    start = time.perf_counter()
    episodes = stepper.run_episode_batch(None, time_limit=episode_length)
    seconds = time.perf_counter() - start
    assert [len(episode) for episode in episodes] == [episode_length] * n_envs
    return seconds


def main() -> None:
    """Runs the benchmark and prints both rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--quick', action='store_true',
                        help='fewer and shorter episodes (a smoke test)')
    args = parser.parse_args()
    n_envs, episode_length, n_batches = (4, 20, 2) if args.quick else (8, 50, 5)
    n_workers = 2

    stepper_kwargs = {
        'env_class': BusyCartPole,
        'agent_class': agents.RandomAgent,
        'network_fn': functools.partial(networks.DummyNetwork,
                                        network_signature=None),
        'n_envs': n_envs,
        'seed': 0,
    }
    print(f'{n_envs} envs x {episode_length} steps x {n_batches} batches, '
          f'{STEP_CPU_SECONDS * 1e3:.1f} ms of CPU per step, '
          f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} '
          f'(other processes take cores from both steppers)')

    start = time.perf_counter()
    ray_stepper.init_ray()
    ray_start_seconds = time.perf_counter() - start
    try:
        start = time.perf_counter()
        ray_batch_stepper = ray_stepper.RayBatchStepper(n_workers=n_workers,
                                                        **stepper_kwargs)
        actor_seconds = time.perf_counter() - start
        local_batch_stepper = local.LocalBatchStepper(**stepper_kwargs)
        # Batches alternate, so that both steppers see the same background
        # load; the first batch of each is a warm-up.
        seconds = {'local': 0.0, 'ray': 0.0}
        for batch in range(n_batches + 1):
            for name, stepper in (('local', local_batch_stepper),
                                  ('ray', ray_batch_stepper)):
                batch_seconds = _time_batch(stepper, n_envs, episode_length)
                if batch:
                    seconds[name] += batch_seconds
        local_batch_stepper.close()
        ray_batch_stepper.close()
    finally:
        ray.shutdown()
    local_rate, ray_rate = (n_batches * n_envs / seconds[name]
                            for name in ('local', 'ray'))

    print(f'Ray start-up: {ray_start_seconds:.1f} s, creating '
          f'{n_workers} workers: {actor_seconds:.1f} s (not in the rates)')
    print(f'LocalBatchStepper:               {local_rate:7.2f} episodes/s')
    print(f'RayBatchStepper ({n_workers} workers):     '
          f'{ray_rate:7.2f} episodes/s')
    print(f'Ray / Local: {ray_rate / local_rate:.2f}x '
          f'(at most {min(n_workers, os.cpu_count())}x on this machine)')


if __name__ == '__main__':
    main()
