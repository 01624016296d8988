"""Env steps/s of collection: inference in each collector vs one shared server.

Collectors are plain Ray actors looping ``LocalBatchStepper.run_steps``, as
the asynchronous pipeline's collectors do: SAC agents on Pendulum, each
collector with ``--envs`` envs. With local inference each collector
evaluates its own copy of the SAC actor (numpy); with shared inference
their LocalBatchSteppers get ``served_network_fn(server)`` and one
InferenceServer answers every collector's requests, batching those that
arrive together. Measured for 1 and 2 collectors, on the small actor of
sac_pendulum (64x64) and on a large one (4 x 1024 hidden).

Every collector holds one stepper per (network, inference) pair, built and
warmed up before any timing, and the servers start before the timing too:
actor and server start-up are not in the rates. The measurements run in
``--repeats`` interleaved passes over all configurations, so a busy machine
affects them alike; the median pass is reported. Each measurement steps
its collectors concurrently for ``--seconds`` and divides the env steps
taken by the wall time.

Usage: python benchmarks/shared_inference.py [--quick] [--seconds 3]
       [--repeats 2] [--envs 4]
"""

import argparse
import functools
import os
import statistics
import time
from typing import Any, Callable, Dict, List, Tuple

# Keep TensorFlow's C++ log lines off the screen.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import ray  # pylint: disable=wrong-import-position

from alpacka import agents, envs, networks  # pylint: disable=wrong-import-position
from alpacka.batch_steppers import inference_server  # pylint: disable=wrong-import-position
from alpacka.batch_steppers import local  # pylint: disable=wrong-import-position
from alpacka.batch_steppers import ray as ray_stepper  # pylint: disable=wrong-import-position
from alpacka.networks import sac as sac_network  # pylint: disable=wrong-import-position

ACTOR_SIZES = {'small 64x64': (64, 64), 'large 4x1024': (1024,) * 4}
MODES = ('local', 'shared')
N_COLLECTORS = (1, 2)
STEPS_PER_CHUNK = 25  # Rounds of all a collector's envs per run_steps call.
TIME_LIMIT = 200  # Pendulum-v1's episode length.


def _network_fn(hidden_sizes: Tuple[int, ...]) -> Callable:
    """A SAC network factory for Pendulum with this actor (small critics)."""
    env = envs.Pendulum()
    return functools.partial(
        networks.SoftActorCriticNetwork,
        sac_network.network_signature(env.observation_space, env.action_space),
        action_space=env.action_space, hidden_sizes=hidden_sizes,
        critic_hidden_sizes=(64, 64), seed=0)


class Collector:
    """A Ray actor with one LocalBatchStepper per (network, inference) pair.

    Args:
        network_fns: ``{(network name, mode): network_fn}``.
        n_envs: Envs per stepper.
        params: ``{network name: params}`` passed to run_steps.
    """

    def __init__(self, network_fns: Dict[Tuple[str, str], Callable],
                 n_envs: int, params: Dict[str, Any]):
        self._steppers = {
            key: local.LocalBatchStepper(
                envs.Pendulum,
                functools.partial(agents.SoftActorCriticAgent,
                                  n_random_steps=0),
                network_fn, n_envs, seed=0)
            for key, network_fn in network_fns.items()}
        self._params = params

    def run(self, key: Tuple[str, str], seconds: float) -> int:
        """Steps the stepper of key in chunks for about seconds.

        Returns:
            Env steps taken.
        """
        stepper = self._steppers[key]
        params = self._params[key[0]]
        n_steps = 0
        deadline = time.perf_counter() + seconds
        while True:
            n_steps += stepper.run_steps(params, STEPS_PER_CHUNK,
                                         time_limit=TIME_LIMIT).n_steps
            if time.perf_counter() >= deadline:
                return n_steps

    def close(self) -> None:
        """Closes the steppers."""
        for stepper in self._steppers.values():
            stepper.close()


def _measure(collectors: List[Any], key: Tuple[str, str],
             seconds: float) -> float:
    """Env steps/s of the collectors stepping key's stepper concurrently."""
    start = time.perf_counter()
    n_steps = sum(ray.get([collector.run.remote(key, seconds)
                           for collector in collectors]))
    return n_steps / (time.perf_counter() - start)


def main() -> None:
    """Runs the benchmark and prints the rates side by side."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--quick', action='store_true',
                        help='short measurements, one pass (a smoke test)')
    parser.add_argument('--seconds', type=float, default=3.0,
                        help='wall time of one measurement')
    parser.add_argument('--repeats', type=int, default=2,
                        help='interleaved passes over all configurations')
    parser.add_argument('--envs', type=int, default=4,
                        help='envs per collector')
    args = parser.parse_args()
    seconds, repeats = (0.5, 1) if args.quick else (args.seconds, args.repeats)

    # One logical CPU per collector and per server (one server at a time
    # is busy).
    ray_stepper.init_ray(num_cpus=max(N_COLLECTORS) + len(ACTOR_SIZES))
    start = time.perf_counter()
    network_fns, params, servers = {}, {}, {}
    for name, hidden_sizes in ACTOR_SIZES.items():
        network_fn = _network_fn(hidden_sizes)
        params[name] = network_fn().params
        servers[name] = inference_server.InferenceServer.start(
            network_fn, params=params[name], num_cpus=1)
        network_fns[name, 'local'] = network_fn
        network_fns[name, 'shared'] = inference_server.served_network_fn(
            servers[name].handle)
    collector_class = ray.remote(num_cpus=1)(Collector)
    params_ref = ray.put(params)
    collectors = [collector_class.remote(network_fns, args.envs, params_ref)
                  for _ in range(max(N_COLLECTORS))]
    for key in network_fns:  # Build every network, off the clock.
        _measure(collectors, key, 0.0)
    setup_seconds = time.perf_counter() - start

    rates = {}
    for _ in range(repeats):
        for key in network_fns:
            for n_collectors in N_COLLECTORS:
                rates.setdefault((*key, n_collectors), []).append(
                    _measure(collectors[:n_collectors], key, seconds))
    batch_rows = {name: server.stats() for name, server in servers.items()}
    ray.get([collector.close.remote() for collector in collectors])
    ray.shutdown()

    print(f'SAC on Pendulum, {args.envs} envs per collector, chunks of '
          f'{STEPS_PER_CHUNK} rounds; {os.cpu_count()} CPUs, load average '
          f'{os.getloadavg()[0]:.1f} at the end (other processes take '
          f'cores from every configuration); set-up {setup_seconds:.0f} s '
          f'(not in the rates); median of {repeats} pass(es) of '
          f'{seconds:g} s per measurement.')
    print(f'{"actor":14s} {"collectors":>10s} {"local steps/s":>14s} '
          f'{"shared steps/s":>15s} {"shared/local":>13s}')
    for name in ACTOR_SIZES:
        for n_collectors in N_COLLECTORS:
            local_rate, shared_rate = (
                statistics.median(rates[name, mode, n_collectors])
                for mode in MODES)
            print(f'{name:14s} {n_collectors:10d} {local_rate:14.0f} '
                  f'{shared_rate:15.0f} {shared_rate / local_rate:12.2f}x')
    for name, stats in batch_rows.items():
        print(f'server of the {name} actor: '
              f'{stats["n_rows"] / max(1, stats["n_predict_calls"]):.1f} rows '
              f'per predict call on average ({stats["n_requests"]} requests '
              f'in {stats["n_predict_calls"]} calls)')


if __name__ == '__main__':
    main()
