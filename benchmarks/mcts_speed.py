"""Simulations per second of DeterministicMCTSAgent on CartPole.

(a) Without a network (zero-value leaves, UCT): the search against its
    physical limit, one CartPole ``restore_state + step + clone_state`` (a
    perfect-model search cannot simulate faster than that; ours steps every
    action of a leaf, i.e. 2 env steps per simulation on CartPole), for 1 and
    16 agents side by side in a LocalBatchStepper.
(b) With a KerasNetwork MLP (value and policy heads) through LocalBatchStepper
    for N = 1, 16 and 64 agents: simulations per second, network calls per
    simulation and the network's share of the wall time (time inside
    ``predict`` / total), for 1 and 4 leaves per request
    (``n_leaves_per_request``).

Every search runs ``--passes`` (50) simulations per move. The configurations
are measured in interleaved rounds in one process and the median round is
reported, so a busy machine affects them alike.

(c) DeepMind's mctx, measured in the same run (benchmarks/mctx_peer.py in
    the 'mctx' virtualenv of peer_venvs.py, made on first use): a batch of
    16 jit-compiled ``mctx.muzero_policy`` searches of ``--passes``
    simulations on CartPole dynamics written in JAX, with a 64x64 MLP and
    without a network (zero value, uniform prior), timed after compilation.
    The tables give our ratio to them. Where the virtualenv cannot be made
    (or with ``--no_mctx``), the one-line reason is printed and the ratios
    use the figures of an earlier measurement, labelled as such.

Usage:
    python benchmarks/mcts_speed.py [--quick] [--passes 50] [--rounds 3] \
        [--clock wall|cpu] [--no_mctx]
"""

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

# Keep TensorFlow's C++ log lines off the screen (keras.py does it too).
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_venvs  # pylint: disable=wrong-import-position

from alpacka import agents, batch_steppers, envs, networks  # pylint: disable=wrong-import-position

HIDDEN_SIZES = (64, 64)
CLOCKS = {'wall': time.perf_counter, 'cpu': time.process_time}


class CLOCK:  # pylint: disable=too-few-public-methods
    """The clock every figure is timed with (--clock): wall time, or this
    process's CPU time, which a machine shared with other work inflates
    less (a search that waits for a core is not charged for it)."""

    now = staticmethod(time.perf_counter)
MCTX_BATCH = 16
# Only the fallback when mctx cannot be measured: simulations/s of 16
# parallel 50-simulation mctx searches on a CPU like this one, from an
# earlier measurement (no network, small MLP).
MCTX_FALLBACK = {'none': 106_000, 'mlp': 57_000}


class _TimedKerasNetwork(networks.KerasNetwork):
    """A KerasNetwork that accumulates the wall time spent in predict."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds = 0.0
        self.calls = 0

    def predict(self, inputs: Any) -> Any:
        start = CLOCK.now()
        predictions = super().predict(inputs)
        self.seconds += CLOCK.now() - start
        self.calls += 1
        return predictions


def physical_limit_s(n_steps: int = 100_000) -> float:
    """Seconds per CartPole restore_state + step + clone_state."""
    env = envs.CartPole()
    env.reset(seed=0)
    state = env.clone_state()
    start = CLOCK.now()
    for index in range(n_steps):
        env.restore_state(state)
        env.step(index & 1)
        env.clone_state()
    return (CLOCK.now() - start) / n_steps


class _Case:
    """One configuration: a stepper with its agents and (timed) network."""

    def __init__(self, label: str, n_agents: int, agent_fn: Callable,
                 network: Any, params: Any, moves: int):
        self.label = label
        self.n_agents = n_agents
        self.network = network
        self.params = params
        self.moves = moves
        self.stepper = batch_steppers.LocalBatchStepper(
            envs.CartPole, agent_fn, lambda: network, n_envs=n_agents,
            seed=n_agents)
        self.rounds: List[Dict[str, float]] = []
        # Warm-up: builds the compiled predict function, fills caches.
        self.stepper.run_episode_batch(params, time_limit=2)

    def measure(self, passes: int) -> None:
        """Runs one batch of episodes and records its figures."""
        timed = isinstance(self.network, _TimedKerasNetwork)
        network_before = (self.network.seconds, self.network.calls) if timed \
            else (0.0, 0)
        start = CLOCK.now()
        episodes = self.stepper.run_episode_batch(self.params,
                                                  time_limit=self.moves)
        seconds = CLOCK.now() - start
        simulations = sum(len(episode) for episode in episodes) * passes
        model_steps = sum(
            int(episode.transition_batch.agent_info['model_steps'].sum())
            for episode in episodes)
        network_after = (self.network.seconds, self.network.calls) if timed \
            else (0.0, 0)
        self.rounds.append({
            'sims_per_s': simulations / seconds,
            'steps_per_s': model_steps / seconds,
            'network_share': (network_after[0] - network_before[0]) / seconds,
            'calls_per_sim': (network_after[1] - network_before[1]) /
                             simulations,
        })

    def median(self, key: str) -> float:
        """The median over rounds of one figure."""
        return statistics.median(r[key] for r in self.rounds)

    def close(self) -> None:
        """Closes the stepper."""
        self.stepper.close()


def _cases(passes: int, moves: int, quick: bool) -> Tuple[list, list]:
    """The (a) no-network and (b) network configurations."""
    zero_value = functools.partial(
        agents.DeterministicMCTSAgent, n_passes=passes, use_policy=False,
        use_value_network=False)
    no_network = [
        _Case('zero-value', n, zero_value, networks.DummyNetwork(None), None,
              moves * (4 if n == 1 else 1))
        for n in (1, 16)]

    env = envs.CartPole()
    signature = agents.DeterministicMCTSAgent().network_signature(
        env.observation_space, env.action_space)
    model_fn = functools.partial(networks.mlp, hidden_sizes=HIDDEN_SIZES)
    params = networks.KerasNetwork(signature, model_fn=model_fn,
                                   seed=0).params
    with_network = []
    for numpy_inference, leaves in ((False, 1), (False, 4), (True, 1),
                                    (True, 4)):
        for n in ((1, 16) if quick else (1, 16, 64)):
            agent_fn = functools.partial(agents.DeterministicMCTSAgent,
                                         n_passes=passes,
                                         n_leaves_per_request=leaves)
            network = _TimedKerasNetwork(signature, model_fn=model_fn,
                                         seed=0,
                                         numpy_inference=numpy_inference)
            backend = 'numpy' if numpy_inference else 'mlp'
            with_network.append(_Case(
                f'{backend}, {leaves} leaf/req', n, agent_fn, network, params,
                moves * (4 if n == 1 else 1)))
    return no_network, with_network


def measure_mctx(passes: int, repeats: int, install: bool = True,
                 python: Optional[str] = None) -> Tuple[Dict[str, float], str]:
    """mctx's simulations/s, by network ('mlp', 'none'), and their label.

    Args:
        passes: Simulations per search.
        repeats: Timed search calls per figure (after compilation).
        install: Make the 'mctx' virtualenv if it does not work yet.
        python: The virtualenv's Python (None: peer_venvs finds or makes it).

    Returns:
        ``(figures, label)``: measured figures labelled 'measured', or
        MCTX_FALLBACK labelled with the one-line reason it was not measured.
    """
    why_not = ''
    if python is None:
        python, why_not = peer_venvs.peer_python('mctx', install=install)
    if python is None:
        return dict(MCTX_FALLBACK), (
            f'not measured ({why_not}): figures of an earlier run')
    figures = {}
    clock = 'cpu' if CLOCK.now is time.process_time else 'wall'
    for network in ('mlp', 'none'):
        command = [python, peer_venvs.peer_script('mctx'), '--network',
                   network, '--batch', str(MCTX_BATCH), '--simulations',
                   str(passes), '--repeats', str(repeats), '--clock', clock]
        result = subprocess.run(command, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            reason = lines[-1] if lines else f'exit {result.returncode}'
            return dict(MCTX_FALLBACK), (
                f'not measured (mctx_peer.py --network {network} failed: '
                f'{reason}): figures of an earlier run')
        figures[network] = json.loads(
            result.stdout.strip().splitlines()[-1])['sims_per_s']
    return figures, 'measured in this run'


def run(passes: int, moves: int, rounds: int, quick: bool,
        mctx: bool = True) -> None:
    """Measures and prints the tables."""
    no_network, with_network = _cases(passes, moves, quick)
    limits = []
    try:
        for _ in range(rounds):
            # The limit is measured in every round too, next to the searches.
            limits.append(physical_limit_s(20_000 if quick else 100_000))
            for case in no_network + with_network:
                case.measure(passes)
    finally:
        for case in no_network + with_network:
            case.close()
    limit_s = statistics.median(limits)
    if mctx:
        mctx_rates, mctx_label = measure_mctx(passes, 10 if quick else 30)
    else:
        mctx_rates, mctx_label = dict(MCTX_FALLBACK), (
            'not measured (--no_mctx): figures of an earlier run')

    clock = 'CPU' if CLOCK.now is time.process_time else 'wall'
    print(f'DeterministicMCTSAgent on CartPole, {passes} simulations per '
          f'move, {rounds} interleaved rounds, median shown, {clock} time.')
    print(f'Physical limit: one restore_state + step + clone_state = '
          f'{limit_s * 1e6:.2f} us, i.e. {1 / limit_s:,.0f} simulated steps/s.')
    print()
    print(f'(c) mctx, {MCTX_BATCH} jit-compiled muzero_policy searches of '
          f'{passes} simulations on CartPole in JAX, {mctx_label}: '
          f'{mctx_rates["mlp"]:,.0f} sims/s with the 64x64 MLP, '
          f'{mctx_rates["none"]:,.0f} without a network.')
    print()
    print('(a) No network: zero-value leaves, UCT.')
    print(f'{"agents":>6} {"sims/s":>9} {"us/sim":>7} {"vs limit":>9} '
          f'{"sim. steps/s":>13} {"vs limit":>9} {"mctx sims/s":>12} '
          f'{"ratio":>6}')
    for case in no_network:
        rate = case.median('sims_per_s')
        steps = case.median('steps_per_s')
        print(f'{case.n_agents:>6} {rate:>9,.0f} {1e6 / rate:>7.1f} '
              f'{rate * limit_s:>8.1%} {steps:>13,.0f} {steps * limit_s:>8.1%} '
              f'{mctx_rates["none"]:>12,.0f} '
              f'{rate / mctx_rates["none"]:>5.2f}x')
    print()
    print(f'(b) KerasNetwork mlp 4 -> {HIDDEN_SIZES} -> (value, policy), '
          f'through LocalBatchStepper.')
    print(f'{"config":<18} {"agents":>6} {"sims/s":>9} {"us/sim":>7} '
          f'{"calls/sim":>10} {"network":>8} {"mctx sims/s":>12} '
          f'{"ratio":>6}')
    for case in with_network:
        rate = case.median('sims_per_s')
        print(f'{case.label:<18} {case.n_agents:>6} {rate:>9,.0f} '
              f'{1e6 / rate:>7.1f} {case.median("calls_per_sim"):>10.3f} '
              f'{case.median("network_share"):>8.1%} '
              f'{mctx_rates["mlp"]:>12,.0f} '
              f'{rate / mctx_rates["mlp"]:>5.2f}x')
    print('\nvs limit = sims/s (or simulated env steps/s: a simulation steps '
          'every action of its leaf) x the physical step cost; network = share '
          'of the wall time spent inside predict.')


def main() -> None:
    """Parses the flags and runs the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--quick', action='store_true',
                        help='a short run (fewer moves and rounds, no N=64)')
    parser.add_argument('--passes', type=int, default=50,
                        help='simulations per move (default 50)')
    parser.add_argument('--moves', type=int, default=None,
                        help='moves per episode with N >= 16 agents, 4x that '
                             'with one agent (default 10; 3 quick)')
    parser.add_argument('--rounds', type=int, default=None,
                        help='interleaved measurement rounds (default 3; 1 quick)')
    parser.add_argument('--clock', choices=sorted(CLOCKS), default='wall',
                        help='time with the wall clock (default) or with '
                             'the CPU time of each process (mctx too), for a '
                             'machine busy with other work')
    parser.add_argument('--no_mctx', action='store_true',
                        help='do not measure mctx (its ratios then use the '
                             'figures of an earlier run, labelled as such)')
    args = parser.parse_args()
    CLOCK.now = staticmethod(CLOCKS[args.clock])
    moves = args.moves or (3 if args.quick else 10)
    rounds = args.rounds or (1 if args.quick else 3)
    run(args.passes, moves, rounds, args.quick, mctx=not args.no_mctx)


if __name__ == '__main__':
    main()
