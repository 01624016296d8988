"""How much LocalBatchStepper's request batching buys with a KerasNetwork.

N SoftmaxAgents play CartPole side by side in one LocalBatchStepper. Every
agent step asks for one prediction (``observation[np.newaxis]``); the stepper
answers all requests of a round with one ``KerasNetwork.predict`` call. For
N = 1, 4, 16, 64 the script prints network calls per agent step, agent steps
per second, the throughput ratio against N = 1, and, for reference, the
throughput of the same loop with a DummyNetwork (the cost of everything except
the network).

The pole is restarted in place instead of ending the episode, so every agent
plays exactly ``--steps`` steps. The N values are measured in interleaved
rounds in one process and the median round is reported, so a busy machine
affects them alike.

Usage:
    python benchmarks/batching.py [--quick] [--steps 300] [--rounds 5]
"""

import argparse
import functools
import os
import statistics
import time
from typing import Callable, Dict, List

# Keep TensorFlow's C++ log lines off the screen (keras.py does it too).
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np  # pylint: disable=wrong-import-position

from alpacka import agents, batch_steppers, envs, networks  # pylint: disable=wrong-import-position

N_AGENTS = (1, 4, 16, 64)
HIDDEN_SIZES = (64, 64)


class EndlessCartPole(envs.CartPole):
    """CartPole whose pole is reset in place instead of ending the episode."""

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        if terminated:
            observation, _ = self.reset()
        return observation, reward, False, truncated, info


def _network_signature():
    env = EndlessCartPole()
    return agents.SoftmaxAgent().network_signature(env.observation_space,
                                                   env.action_space)


def _keras_network_fn(signature) -> Callable:
    model_fn = functools.partial(networks.mlp, hidden_sizes=HIDDEN_SIZES)
    return functools.partial(networks.KerasNetwork, signature,
                             model_fn=model_fn, seed=0)


def _measure_round(stepper, params, steps: int) -> Dict[str, float]:
    """Runs one episode batch; returns agent steps, calls and seconds."""
    calls_before = stepper.n_predict_calls
    start = time.perf_counter()
    episodes = stepper.run_episode_batch(params, time_limit=steps)
    seconds = time.perf_counter() - start
    n_steps = sum(len(episode) for episode in episodes)
    assert n_steps == steps * stepper.n_envs, 'episodes ended early'
    return {'steps': n_steps, 'calls': stepper.n_predict_calls - calls_before,
            'seconds': seconds}


def _predict_cost_ms(network, batch_size: int, repeats: int = 300) -> float:
    inputs = np.zeros((batch_size, 4), np.float32)
    for _ in range(20):
        network.predict(inputs)
    start = time.perf_counter()
    for _ in range(repeats):
        network.predict(inputs)
    return (time.perf_counter() - start) / repeats * 1e3


def run(steps: int, rounds: int) -> None:
    """Measures and prints the table."""
    signature = _network_signature()
    keras_fn = _keras_network_fn(signature)
    reference = keras_fn()
    params = reference.params
    dummy_fn = functools.partial(networks.DummyNetwork, signature)

    steppers = {}
    for kind, network_fn in (('keras', keras_fn), ('dummy', dummy_fn)):
        for n in N_AGENTS:
            stepper = batch_steppers.LocalBatchStepper(
                EndlessCartPole, agents.SoftmaxAgent, network_fn, n_envs=n,
                seed=n)
            # Warm-up: builds the network and its compiled predict function.
            stepper.run_episode_batch(params, time_limit=3)
            steppers[kind, n] = stepper

    results: Dict[tuple, List[Dict[str, float]]] = {key: [] for key in steppers}
    try:
        for _ in range(rounds):
            for key, stepper in steppers.items():
                results[key].append(_measure_round(stepper, params, steps))
    finally:
        for stepper in steppers.values():
            stepper.close()

    def median_rate(key):
        return statistics.median(r['steps'] / r['seconds'] for r in results[key])

    print(f'Batching: N SoftmaxAgents on CartPole in one LocalBatchStepper, '
          f'KerasNetwork mlp 4 -> {HIDDEN_SIZES} -> 2.')
    print(f'{steps} steps per agent per round, {rounds} interleaved rounds, '
          f'median round shown.')
    print(f'KerasNetwork.predict alone: {_predict_cost_ms(reference, 1):.3f} ms '
          f'at B=1, {_predict_cost_ms(reference, 64):.3f} ms at B=64.')
    print()
    print(f'{"N":>4} {"calls/step":>11} {"steps/s":>9} {"vs N=1":>7}'
          f' {"us/step":>8} {"Dummy steps/s":>14}')
    base_rate = median_rate(('keras', N_AGENTS[0]))
    for n in N_AGENTS:
        key = ('keras', n)
        calls = sum(r['calls'] for r in results[key])
        total_steps = sum(r['steps'] for r in results[key])
        rate = median_rate(key)
        print(f'{n:>4} {calls / total_steps:>11.4f} {rate:>9.0f} '
              f'{rate / base_rate:>6.1f}x {1e6 / rate:>8.1f} '
              f'{median_rate(("dummy", n)):>14.0f}')
    framework_us = 1e6 / median_rate(('dummy', 16))
    call_us = 1e6 / base_rate - 1e6 / median_rate(('dummy', N_AGENTS[0]))
    print(f'\nWithout the network an agent step costs {framework_us:.0f} us '
          f'(DummyNetwork, N=16); one KerasNetwork call adds {call_us:.0f} us '
          f'(N=1).')


def main() -> None:
    """Parses the flags and runs the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--quick', action='store_true',
                        help='a short run (fewer steps and rounds)')
    parser.add_argument('--steps', type=int, default=None,
                        help='steps per agent per round (default 300; 60 quick)')
    parser.add_argument('--rounds', type=int, default=None,
                        help='interleaved measurement rounds (default 5; 2 quick)')
    args = parser.parse_args()
    steps = args.steps or (60 if args.quick else 300)
    rounds = args.rounds or (2 if args.quick else 5)
    run(steps, rounds)


if __name__ == '__main__':
    main()
