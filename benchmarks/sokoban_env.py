"""Sokoban env speed: Sokoban's step and clone+restore against plain loops.

A planner steps the env through its API: ``step`` (the move, the reward,
the flags, the info dict and a new one-hot observation) and, around every
simulated step, ``clone_state`` and ``restore_state`` (which also returns the
observation). This script measures them on one generated room against
plain loops doing the same work by hand, on the same room representation
(a flat bytearray of cell codes and the player's index), without the env
API:

* step: the same moves (a seeded sequence of random actions) as a minimal
  hand-written push, without and with building the observation (the same
  ``take`` of a 7x7 identity matrix the env does);
* clone+restore: ``bytes`` of the room and a slice assignment back, without
  and with the observation;
* restore+step+clone, a planner's cost per simulated env step.

The plain step's final room must equal the env's (the loops do the same
moves). The contenders run in many short interleaved rounds (the order
reversed every other round), so the env and its plain loop meet the same
load of a shared machine within milliseconds of each other; the table gives
each contender's median and best rate over the rounds, and the env's rate
as a fraction of the plain loop's is the median of the per-round ratios.
The issue's goal: at least 50% of the plain loop.

Usage:
    python benchmarks/sokoban_env.py [--quick] [--steps 2000] [--rounds 40]
        [--dim-room 10 10] [--num-boxes 4]
"""

import argparse
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from alpacka import envs
from alpacka.envs import sokoban_generation as generation

GOAL = 0.5


def plain_step_loop(room: bytearray, player: int, width: int,
                    actions: Sequence[int], observe: bool,
                    simulate: bool = False) -> int:
    """The moves by hand: pushes on a flat room, the player's index kept.

    Args:
        room: Flat room of cell codes, changed in place.
        player: The player's index in it.
        width: Room width.
        actions: Actions (0 up, 1 down, 2 left, 3 right).
        observe: Also build the one-hot observation after every move.
        simulate: Around every move, as a planner: restore the room from
            bytes (and build the observation), and after it take its bytes.

    Returns:
        The player's index at the end.
    """
    offsets = generation.deltas(width)
    eye = np.eye(generation.N_CODES, dtype=np.float32)
    view = np.frombuffer(room, np.uint8).reshape(-1, width)
    box_enters = {1: 4, 2: 3}  # floor -> box, target -> box on target
    state = bytes(room)
    for action in actions:
        if simulate:
            room[:] = state
            eye.take(view, axis=0)
        delta = offsets[action]
        into = player + delta
        code = room[into]
        if code in (3, 4):
            after = room[into + delta]
            if after in (1, 2):
                room[into + delta] = box_enters[after]
                code = 1 if code == 4 else 2
            else:
                code = 0
        if code:
            room[into] = 5 if code == 1 else 6
            room[player] = 1 if room[player] == 5 else 2
            player = into
        if observe:
            eye.take(view, axis=0)
        if simulate:
            state = bytes(room)
    return player


def _env_steps(env: envs.Sokoban, actions: Sequence[int]) -> None:
    step = env.step
    for action in actions:
        step(action)


def _env_clone_restore(env: envs.Sokoban, n: int) -> None:
    clone, restore = env.clone_state, env.restore_state
    for _ in range(n):
        restore(clone())


def _plain_clone_restore(room: bytearray, width: int, n: int,
                         observe: bool) -> None:
    eye = np.eye(generation.N_CODES, dtype=np.float32)
    view = np.frombuffer(room, np.uint8).reshape(-1, width)
    for _ in range(n):
        room[:] = bytes(room)
        if observe:
            eye.take(view, axis=0)


def _env_simulated_steps(env: envs.Sokoban, actions: Sequence[int]) -> None:
    clone, restore, step = env.clone_state, env.restore_state, env.step
    state = clone()
    for action in actions:
        restore(state)
        step(action)
        state = clone()


def measure(dim_room: Sequence[int], num_boxes: int, n_steps: int,
            rounds: int, seed: int = 0) -> Dict[str, List[float]]:
    """Rates (operations per second) of every contender, round by round.

    Returns:
        ``{name: [per second, one per round]}``: 'env step', 'plain step',
        'plain step + obs', 'env clone+restore', 'plain clone+restore',
        'plain clone+restore + obs', 'env restore+step+clone',
        'plain restore+step+clone'.
    """
    env = envs.Sokoban(dim_room=tuple(dim_room), num_boxes=num_boxes)
    env.reset(seed=seed)
    start_state, start_room = env.clone_state(), env.room
    width = dim_room[1]
    actions = [int(a) for a in
               np.random.default_rng(seed).integers(4, size=n_steps)]
    player = int(np.flatnonzero((start_room == 5) | (start_room == 6))[0])

    def fresh_room() -> bytearray:
        return bytearray(start_room.tobytes())

    def env_steps():
        env.restore_state(start_state)
        _env_steps(env, actions)

    def check_same_moves():
        room = fresh_room()
        plain_step_loop(room, player, width, actions, False)
        env_steps()
        assert bytes(room) == bytes(env.room.tobytes()), (
            'the plain loop and the env disagree on the moves')

    check_same_moves()
    contenders: Dict[str, Callable[[], None]] = {
        'env step': env_steps,
        'plain step': lambda: plain_step_loop(fresh_room(), player, width,
                                              actions, False),
        'plain step + obs': lambda: plain_step_loop(fresh_room(), player,
                                                    width, actions, True),
        'env clone+restore': lambda: _env_clone_restore(env, n_steps),
        'plain clone+restore': lambda: _plain_clone_restore(
            fresh_room(), width, n_steps, False),
        'plain clone+restore + obs': lambda: _plain_clone_restore(
            fresh_room(), width, n_steps, True),
        'env restore+step+clone': lambda: (
            env.restore_state(start_state),
            _env_simulated_steps(env, actions)),
        'plain restore+step+clone': lambda: plain_step_loop(
            fresh_room(), player, width, actions, True, simulate=True),
    }
    rates: Dict[str, List[float]] = {name: [] for name in contenders}
    order = list(contenders)
    for _ in range(rounds):
        for name in order:
            begin = time.perf_counter()
            contenders[name]()
            rates[name].append(n_steps / (time.perf_counter() - begin))
        order.reverse()
    return rates


PAIRS = [('env step', 'plain step + obs'), ('env step', 'plain step'),
         ('env clone+restore', 'plain clone+restore + obs'),
         ('env clone+restore', 'plain clone+restore'),
         ('env restore+step+clone', 'plain restore+step+clone')]


def report(rates: Dict[str, List[float]]) -> str:
    """The rates as a table, with the env's ratios to the plain loops."""
    lines = [f'{"contender":<28}{"median/s":>12}{"us each":>9}'
             f'{"best/s":>12}']
    for name, per_round in rates.items():
        median = statistics.median(per_round)
        lines.append(f'{name:<28}{median:>12,.0f}{1e6 / median:>9.2f}'
                     f'{max(per_round):>12,.0f}')
    lines.append('')
    for env_name, plain_name in PAIRS:
        ratio = statistics.median(
            e / p for e, p in zip(rates[env_name], rates[plain_name]))
        verdict = 'met' if ratio >= GOAL else 'not met'
        lines.append(f'{env_name} / {plain_name}: {ratio:.0%} '
                     f'(goal {GOAL:.0%}: {verdict})')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, List[float]]:
    """Measures and prints; returns the rates."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--quick', action='store_true',
                        help='a smoke test: 500 steps, 3 rounds')
    parser.add_argument('--steps', type=int, default=2_000,
                        help='moves per contender and round')
    parser.add_argument('--rounds', type=int, default=40)
    parser.add_argument('--dim-room', type=int, nargs=2, default=(10, 10))
    parser.add_argument('--num-boxes', type=int, default=4)
    args = parser.parse_args(argv)
    steps, rounds = (500, 3) if args.quick else (args.steps, args.rounds)
    rates = measure(args.dim_room, args.num_boxes, steps, rounds)
    print(f'Sokoban {args.dim_room[0]}x{args.dim_room[1]}, {args.num_boxes} '
          f'boxes; {steps:,} random moves a round, {rounds} rounds')
    print(report(rates))
    return rates


if __name__ == '__main__':
    main()
