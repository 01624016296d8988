"""Sokoban room generation: a carved floor made solvable by reverse play.

The method is gym-sokoban's (Schrader 2018), written anew here:

1. ``carve_floor``: a random walk inside a wall border carves the floor,
   stamping a small random pattern (a cell, a bar, a plus, a square) at
   every step and turning with probability ``TURN_PROBABILITY``.
2. The player and ``num_boxes`` targets go on distinct random floor cells,
   every box starting on its target: the solved room.
3. ``reverse_play``: the player walks backwards from the solved room,
   pulling boxes off their targets, explored depth-first in random order
   (``REVERSE_PLAY_BUDGET`` expanded arrangements at most, paths at most
   ``REVERSE_PLAY_DEPTH`` moves). The arrangement with the best score is
   kept: first the number of boxes pulled at least once, then box swaps
   (pulls of another box than the last one) times the boxes' summed
   Manhattan distance from their targets. Every arrangement is reached
   from the solved room by legal pulls, so it is solvable by construction:
   the reverse path, reversed and with each move turned around, is a
   solution of pushes.

A room whose best arrangement is solved already (no pull was possible) is
rejected and generation starts again, at most ``MAX_TRIES`` times; then
``SokobanGenerationError``.

Rooms are flat ``bytes``/``bytearray`` of cell codes (row-major, ``h * w``),
the codes of gym-sokoban's room encoding (``WALL`` .. ``PLAYER_ON_TARGET``).
"""

import random
from typing import List, Sequence, Tuple

import numpy as np

from alpacka.utils import validation

# Cell codes: the observation's channels.
WALL, FLOOR, TARGET, BOX_ON_TARGET, BOX, PLAYER, PLAYER_ON_TARGET = range(7)
N_CODES = 7

# Actions: push (or move) up, down, left, right; a ^ 1 is a's opposite.
UP, DOWN, LEFT, RIGHT = range(4)
ACTION_NAMES = ('up', 'down', 'left', 'right')

TURN_PROBABILITY = 0.35
REVERSE_PLAY_BUDGET = 1000
REVERSE_PLAY_DEPTH = 300
MAX_TRIES = 100

# What a random-walk step stamps around its cell: (row, column) offsets.
_PATTERNS = (
    ((0, 0),),
    ((0, -1), (0, 0), (0, 1)),
    ((-1, 0), (0, 0), (1, 0)),
    ((-1, 0), (0, -1), (0, 0), (0, 1), (1, 0)),
    ((0, 0), (0, 1), (1, 0), (1, 1)),
)
_STEPS = ((-1, 0), (1, 0), (0, -1), (0, 1))


class SokobanGenerationError(validation.ArgumentError):
    """No solvable room came out of the generator's tries."""


def default_gen_steps(dim_room: Sequence[int]) -> int:
    """The random walk's default length: 1.7 * (h + w), as gym-sokoban."""
    return int(1.7 * (dim_room[0] + dim_room[1]))


def deltas(width: int) -> Tuple[int, int, int, int]:
    """Flat-index offsets of up, down, left, right in a room this wide."""
    return (-width, width, -1, 1)


def carve_floor(rng: random.Random, dim_room: Sequence[int],
                n_steps: int) -> bytearray:
    """Walls everywhere but the floor a random walk carves inside the border.

    Args:
        rng: Draws the start, the patterns and the turns.
        dim_room: (h, w), both at least 3.
        n_steps: Length of the walk.

    Returns:
        Flat ``h * w`` room of WALL and FLOOR codes.
    """
    height, width = dim_room
    room = bytearray(height * width)  # All WALL (0).
    row, col = rng.randrange(1, height - 1), rng.randrange(1, width - 1)
    step = rng.choice(_STEPS)
    for _ in range(n_steps):
        for d_row, d_col in rng.choice(_PATTERNS):
            r, c = row + d_row, col + d_col
            if 0 < r < height - 1 and 0 < c < width - 1:
                room[r * width + c] = FLOOR
        if rng.random() < TURN_PROBABILITY:
            step = rng.choice(_STEPS)
        row = min(max(row + step[0], 1), height - 2)
        col = min(max(col + step[1], 1), width - 2)
    return room


def _score(boxes: Tuple[int, ...], targets: Tuple[int, ...], width: int,
           pulled: int, swaps: int) -> Tuple[int, int]:
    """(boxes pulled at least once, swaps * summed Manhattan displacement);
    ``pulled`` is a bit mask of box indices."""
    displacement = sum(abs(b // width - t // width) + abs(b % width - t % width)
                       for b, t in zip(boxes, targets))
    return bin(pulled).count('1'), swaps * displacement


def reverse_play(rng: random.Random, floor: bytes, width: int, player: int,
                 targets: Tuple[int, ...]) -> Tuple[int, Tuple[int, ...],
                                                    List[int]]:
    """The best arrangement reverse play reaches from the solved room.

    Args:
        rng: Orders the moves.
        floor: Flat room, WALL where walls are (any other code is floor).
        width: Room width.
        player: The player's flat index in the solved room.
        targets: Flat indices of the targets, where the boxes start (box i on
            target i).

    Returns:
        ``(player, boxes, moves)``: the player's and the boxes' (box i's)
        positions, and the reverse moves (actions, in order) from the solved
        room to them; ``boxes == targets`` if no box could be pulled.
    """
    offsets = deltas(width)
    # Nodes of the search tree: (parent index, reverse move, solved). A path
    # may pass through other solved arrangements (boxes swapped round): the
    # score starts again there, and the solution after the last of them.
    target_set = frozenset(targets)
    nodes = [(-1, -1, True)]
    best_key, best = (0, 0), (player, targets, 0)
    seen = set()
    # Stack entries: (player, boxes, node index, depth, pulled mask, swaps,
    # last pulled box).
    stack = [(player, targets, 0, 0, 0, 0, -1)]
    while stack and len(seen) < REVERSE_PLAY_BUDGET:
        player, boxes, node, depth, pulled, swaps, last = stack.pop()
        key = (player, tuple(sorted(boxes)))
        if key in seen:
            continue
        seen.add(key)
        score = _score(boxes, targets, width, pulled, swaps)
        if score > best_key:
            best_key, best = score, (player, boxes, node)
        if depth >= REVERSE_PLAY_DEPTH:
            continue
        moves = list(range(4))
        rng.shuffle(moves)
        for move in moves:
            delta = offsets[move]
            into = player + delta
            if floor[into] == WALL or into in boxes:
                continue
            # Walk away without pulling ...
            nodes.append((node, move, nodes[node][2]))
            stack.append((into, boxes, len(nodes) - 1, depth + 1, pulled,
                          swaps, last))
            # ... or pull the box behind the player along.
            behind = player - delta
            if behind in boxes:
                index = boxes.index(behind)
                moved = boxes[:index] + (player,) + boxes[index + 1:]
                solved = target_set.issuperset(moved)
                nodes.append((node, move, solved))
                if solved:  # Boxes swapped round: a fresh start.
                    stack.append((into, targets, len(nodes) - 1, depth + 1,
                                  0, 0, -1))
                else:
                    stack.append((into, moved, len(nodes) - 1, depth + 1,
                                  pulled | (1 << index),
                                  swaps + (index != last), index))
    player, boxes, node = best
    moves = []
    while not nodes[node][2]:
        node, move, _ = nodes[node]
        moves.append(move)
    moves.reverse()
    return player, boxes, moves, best_key[0]


def room_problem(room: np.ndarray, dim_room: Sequence[int],
                 num_boxes: int) -> str:
    """What makes room unfit for a Sokoban env ('' if nothing).

    Args:
        room: The candidate: an (h, w) array of cell codes.
        dim_room: The env's (h, w).
        num_boxes: The env's boxes (and targets).
    """
    if room.shape != tuple(dim_room) or room.dtype.kind not in 'iu':
        return (f'the room must be an integer array of shape {tuple(dim_room)}'
                f' (dim_room), got {room.dtype} of shape {room.shape}.')
    if room.min() < WALL or room.max() > PLAYER_ON_TARGET:
        return f'cell codes must be in [{WALL}, {PLAYER_ON_TARGET}].'
    border = np.concatenate([room[0], room[-1], room[:, 0], room[:, -1]])
    counts = np.bincount(room.ravel(), minlength=N_CODES)
    boxes = counts[BOX] + counts[BOX_ON_TARGET]
    targets = counts[TARGET] + counts[BOX_ON_TARGET] + counts[PLAYER_ON_TARGET]
    if (border != WALL).any():
        return 'the border cells must all be walls (code 0).'
    if counts[PLAYER] + counts[PLAYER_ON_TARGET] != 1:
        return 'the room must have exactly one player (code 5 or 6).'
    if boxes != num_boxes or targets != num_boxes:
        return (f'the room must have num_boxes = {num_boxes} boxes and as '
                f'many targets, got {boxes} boxes and {targets} targets.')
    return ''


def generate_room(rng: np.random.Generator, dim_room: Sequence[int],
                  num_boxes: int, num_gen_steps: int,
                  max_tries: int = MAX_TRIES) -> Tuple[np.ndarray, List[int]]:
    """A solvable room and a solution of it.

    Args:
        rng: The only source of randomness (one draw seeds the rest).
        dim_room: (h, w) including the wall border.
        num_boxes: Boxes (and targets).
        num_gen_steps: Length of the floor-carving walk.
        max_tries: Rooms tried before giving up.

    Returns:
        ``(room, solution)``: the room, uint8 ``(h, w)`` of cell codes, and
        the actions (0 up, 1 down, 2 left, 3 right) that solve it.

    Raises:
        SokobanGenerationError: No try gave a room reverse play could move a
            box in.
    """
    height, width = dim_room
    walker = random.Random(int(rng.integers(2 ** 63)))
    for _ in range(max_tries):
        floor = carve_floor(walker, dim_room, num_gen_steps)
        cells = [i for i, code in enumerate(floor) if code == FLOOR]
        if len(cells) < num_boxes + 1:
            continue
        player, *targets = walker.sample(cells, num_boxes + 1)
        targets = tuple(targets)
        player, boxes, moves, pulled = reverse_play(
            walker, bytes(floor), width, player, targets)
        if pulled < num_boxes or set(boxes) == set(targets):
            continue  # A box could not be pulled, or all are back on targets.
        room = floor
        for target in targets:
            room[target] = TARGET
        for box in boxes:
            room[box] = BOX_ON_TARGET if room[box] == TARGET else BOX
        room[player] = PLAYER_ON_TARGET if room[player] == TARGET else PLAYER
        solution = [move ^ 1 for move in reversed(moves)]
        return (np.frombuffer(bytes(room), np.uint8).reshape(height, width),
                solution)
    raise SokobanGenerationError(
        f'Sokoban could not generate a solvable {height}x{width} room with '
        f'{num_boxes} box(es) in {max_tries} tries: in every try the carved '
        f'floor had too few cells, or no box could be pulled off its target '
        f'(a box needs a free cell on each side along a line of floor). Make '
        f'the room larger (Sokoban.dim_room), use fewer boxes '
        f'(Sokoban.num_boxes) or a longer floor walk (Sokoban.num_gen_steps).')
