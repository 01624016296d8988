"""Sokoban: generated puzzle rooms with cheap, hashable states.

The original Alpacka's Sokoban env (over gym-sokoban), written in numpy and
plain Python for speed: a planner steps it hundreds of thousands of times a
minute. The room is a flat ``bytearray`` of cell codes (gym-sokoban's room
encoding, see ``sokoban_generation``); a step reads and writes two or three
of its bytes, the observation is one ``take`` from a 7x7 identity matrix of
a uint8 view of it, and the state is ``bytes`` of it with the player's
index. Rooms come from ``sokoban_generation.generate_room`` at every reset,
or from ``Sokoban.set_room`` (a hand-made room). ``benchmarks/sokoban_env.py``
measures the step and the clone+restore against plain loops.
"""

import difflib
import functools
from typing import (Annotated, Any, Hashable, Literal, Optional, Sequence,
                    Tuple)

import gymnasium
import numpy as np

from alpacka.envs import base
from alpacka.envs import noisy
from alpacka.envs import sokoban_generation as generation
from alpacka.utils import validation

# The cell codes, as globals of this module for the step's speed.
_WALL, _FLOOR, _TARGET = generation.WALL, generation.FLOOR, generation.TARGET
_BOX_ON_TARGET, _BOX = generation.BOX_ON_TARGET, generation.BOX
_PLAYER, _PLAYER_ON_TARGET = generation.PLAYER, generation.PLAYER_ON_TARGET
_BOXES = (_BOX, _BOX_ON_TARGET)
_FREE = (_FLOOR, _TARGET)
# Lookup tables by cell code (0 where the case cannot happen): what a cell
# becomes when a box enters it, when the player enters it (a box there
# having moved on) and when the player leaves it.
_BOX_ENTERS = bytes([0, _BOX, _BOX_ON_TARGET, 0, 0, 0, 0])
_PLAYER_ENTERS = bytes([0, _PLAYER, _PLAYER_ON_TARGET, _PLAYER_ON_TARGET,
                        _PLAYER, 0, 0])
_PLAYER_LEAVES = bytes([0, 0, 0, 0, 0, _FLOOR, _TARGET])
# What a cell code leaves of the fixed room (walls and targets) once the
# player or a box is taken away: states are checked against it on restore.
_FIXED_OF = bytes([_WALL, _FLOOR, _TARGET, _TARGET, _FLOOR, _FLOOR,
                   _TARGET]) + bytes(249)

# Flat colours of the rendering, by cell code.
_WALL_RGB, _FLOOR_RGB = (110, 60, 40), (220, 210, 180)
_TARGET_RGB, _BOX_RGB = (200, 40, 40), (230, 160, 40)
_BOX_ON_TARGET_RGB, _PLAYER_RGB = (120, 190, 60), (40, 90, 220)


class SokobanRoomTooSmallError(validation.ArgumentError):
    """The room has fewer interior cells than its boxes, targets and
    player need."""


class SokobanArgumentError(validation.ArgumentError):
    """ActionNoiseSokoban got an argument Sokoban does not take."""


class SokobanStateError(ValueError):
    """A state that does not belong to the env's current room."""


@functools.lru_cache(maxsize=8)
def _tiles(scale: int) -> np.ndarray:
    """One (scale, scale, 3) uint8 picture per cell code: (7, s, s, 3)
    (read-only: shared by every call)."""
    ys, xs = np.mgrid[:scale, :scale] + 0.5
    centre = scale / 2
    disc = (ys - centre) ** 2 + (xs - centre) ** 2 <= (0.35 * scale) ** 2
    inner = ((np.abs(ys - centre) < 0.38 * scale) &
             (np.abs(xs - centre) < 0.38 * scale))
    dot = ((np.abs(ys - centre) < 0.15 * scale) &
           (np.abs(xs - centre) < 0.15 * scale))
    tiles = np.empty((generation.N_CODES, scale, scale, 3), np.uint8)
    tiles[:] = _FLOOR_RGB
    tiles[_WALL] = _WALL_RGB
    tiles[_WALL, ::max(scale // 4, 1)] = (90, 45, 30)  # Mortar lines.
    for code in (_TARGET, _PLAYER_ON_TARGET):
        tiles[code][dot] = _TARGET_RGB
    tiles[_BOX][inner] = _BOX_RGB
    tiles[_BOX_ON_TARGET][inner] = _BOX_ON_TARGET_RGB
    for code in (_PLAYER, _PLAYER_ON_TARGET):
        tiles[code][disc & ~dot] = _PLAYER_RGB
    tiles.flags.writeable = False
    return tiles


def render_room(room: np.ndarray, scale: int = 16) -> np.ndarray:
    """An RGB picture of a room of cell codes, ``scale`` pixels a cell.

    Args:
        room: (h, w) array of cell codes.
        scale: Pixels per cell side.

    Returns:
        uint8 array of shape (h * scale, w * scale, 3).
    """
    height, width = room.shape
    tiles = _tiles(scale)[np.asarray(room, np.intp)]  # (h, w, s, s, 3)
    return tiles.transpose(0, 2, 1, 3, 4).reshape(
        height * scale, width * scale, 3)


@validation.configurable(module='alpacka.envs')
class Sokoban(base.ModelEnv):
    """Sokoban rooms generated as gym-sokoban does (solvable by construction).

    A new room is generated at every reset. Observations are one-hot
    float32 arrays of shape ``dim_room + (7,)``, channels as gym-sokoban's
    room encoding: 0 wall, 1 floor, 2 target, 3 box on target, 4 box,
    5 player, 6 player on target. The four actions push (or move) up, down,
    left and right; a push moves a box if the cell beyond it is free (floor
    or target), else nothing moves. Each step's reward is
    ``penalty_for_step``, plus ``reward_box_on_target`` for a box pushed onto
    a target and minus it for one pushed off, plus ``reward_finished`` on
    the push that puts the last box on its target; then ``terminated`` is
    True. ``info['solved']`` says whether all boxes are on targets, on every
    step. ``truncated`` comes after ``max_steps`` steps.

    ``clone_state()`` is ``(room bytes, player index)`` when ``max_steps``
    is infinite (None). With a finite ``max_steps`` the step counter has to
    travel with the state, for a restore to reproduce truncation: the state
    is then a ``base.TimedState`` of that pair and the steps taken, which
    compares and hashes by the pair only (as TimeLimitWrapper's states), so
    equal layouts are one key for a planner at any time. The walls and
    targets are in the room bytes, so states of different rooms never
    compare equal, and ``restore_state`` refuses a state whose walls or
    targets are not the current room's.

    ``solution`` holds the actions that solve the current room from its
    start (the generator's reverse play, turned around; not a shortest one).

    Args:
        dim_room: (height, width) of the room, wall border included.
        num_boxes: Boxes (and targets) in a room.
        max_steps: Steps after which an episode is truncated (None or
            np.inf: no limit).
        num_gen_steps: Length of the random walk carving the floor (default
            1.7 * (height + width)).
        penalty_for_step: Reward of every step.
        reward_box_on_target: Reward for a box pushed onto a target (its
            negative for one pushed off).
        reward_finished: Reward for the push that solves the room.
        seed: Seeds the room generator (as reset(seed=seed) would, but for
            the first reset without a seed).
        render_mode: None or 'rgb_array' (render() gives render_rgb()).
    """

    metadata = {'render_modes': ['rgb_array']}
    render_scale = 16

    def __init__(
            self,
            dim_room: Tuple[Annotated[int, validation.AtLeast(3)],
                            Annotated[int, validation.AtLeast(3)]] = (10, 10),
            num_boxes: Annotated[int, validation.AtLeast(1)] = 4,
            max_steps: Annotated[
                Optional[float], validation.AtLeast(1)] = np.inf,
            num_gen_steps: Annotated[
                Optional[int], validation.AtLeast(1)] = None,
            penalty_for_step: float = -0.1,
            reward_box_on_target: float = 1.0,
            reward_finished: float = 10.0,
            seed: Optional[int] = None,
            render_mode: Optional[Literal['rgb_array']] = None):
        height, width = self.dim_room = tuple(int(d) for d in dim_room)
        interior = (height - 2) * (width - 2)
        if interior < 2 * num_boxes + 1:
            raise SokobanRoomTooSmallError(
                f'Sokoban.dim_room = {self.dim_room} is too small for '
                f'Sokoban.num_boxes = {num_boxes}: its {interior} interior '
                f'cell(s) (inside the wall border) cannot hold {num_boxes} '
                f'box(es), as many targets and the player '
                f'({2 * num_boxes + 1} cells). Use a larger dim_room or '
                f'fewer boxes.')
        self.num_boxes = num_boxes
        self.max_steps = np.inf if max_steps is None else max_steps
        self.num_gen_steps = (generation.default_gen_steps(self.dim_room)
                              if num_gen_steps is None else num_gen_steps)
        self.penalty_for_step = float(penalty_for_step)
        self.reward_box_on_target = float(reward_box_on_target)
        self.reward_finished = float(reward_finished)
        self.render_mode = render_mode
        self.observation_space = gymnasium.spaces.Box(
            0, 1, self.dim_room + (generation.N_CODES,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(4)
        if seed is not None:
            self._np_random, self._np_random_seed = (
                gymnasium.utils.seeding.np_random(seed))
        self._deltas = generation.deltas(width)
        self._eye = np.eye(generation.N_CODES, dtype=np.float32)
        self._timed = self.max_steps != np.inf
        self.solution = []
        # The room, and a (h, w) uint8 view of its memory for observations.
        self._room = bytearray(height * width)
        self._view = np.frombuffer(self._room, np.uint8).reshape(self.dim_room)
        self._fixed = bytes(self._room)  # Walls and targets, for restores.
        self._checked = None
        self._player = 0
        self._on_target = 0
        self._steps = 0

    def __getstate__(self) -> dict:
        attributes = dict(vars(self))
        del attributes['_view']  # A view of _room: a copy once pickled.
        return attributes

    def __setstate__(self, attributes: dict) -> None:
        vars(self).update(attributes)
        self._view = np.frombuffer(self._room, np.uint8).reshape(self.dim_room)

    @property
    def room(self) -> np.ndarray:
        """A copy of the room: (h, w) uint8 cell codes."""
        return self._view.copy()

    def _observation(self) -> np.ndarray:
        return self._eye.take(self._view, axis=0)

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[dict] = None) -> tuple:
        """Generates a new room (from the given seed, or the env's RNG).

        Returns:
            ``(observation, {'solved': False})``.
        """
        super().reset(seed=seed)
        room, solution = generation.generate_room(
            self.np_random, self.dim_room, self.num_boxes, self.num_gen_steps)
        return self.set_room(room, solution), {'solved': False}

    def set_room(self, room: np.ndarray,
                 solution: Sequence[int] = ()) -> np.ndarray:
        """Makes room the current room, at step 0, as a reset would.

        Args:
            room: (h, w) = dim_room array of cell codes, walls all round,
                one player and num_boxes boxes and targets.
            solution: Actions that solve it, if known (kept as
                ``solution``).

        Returns:
            The observation.

        Raises:
            ValueError: The room is not such an array.
        """
        room = np.asarray(room)
        problem = generation.room_problem(room, self.dim_room, self.num_boxes)
        if problem:
            raise ValueError(f'Sokoban.set_room: {problem}')
        self._room[:] = room.astype(np.uint8).tobytes()
        self._fixed = self._room.translate(_FIXED_OF)
        self._checked = None  # The last restored layout (of this room).
        player = self._room.find(generation.PLAYER)
        self._player = (player if player >= 0 else
                        self._room.find(generation.PLAYER_ON_TARGET))
        self._on_target = self._room.count(generation.BOX_ON_TARGET)
        self._steps = 0
        self.solution = list(solution)
        return self._observation()

    def step(self, action: Any) -> tuple:
        room = self._room
        delta = self._deltas[action]
        player = self._player
        into = player + delta
        code = room[into]
        reward = self.penalty_for_step
        if code in _BOXES:
            beyond = into + delta
            after = room[beyond]
            if after in _FREE:
                room[beyond] = _BOX_ENTERS[after]
                # +1 onto a target, -1 off one, 0 from target to target.
                change = (after == _TARGET) - (code == _BOX_ON_TARGET)
                if change:
                    reward += change * self.reward_box_on_target
                    self._on_target += change
                    if self._on_target == self.num_boxes:
                        reward += self.reward_finished
            else:
                code = _WALL  # Blocked: nothing moves.
        if code != _WALL:
            # The player enters `into` (a box there has just moved on).
            room[into] = _PLAYER_ENTERS[code]
            room[player] = _PLAYER_LEAVES[room[player]]
            self._player = into
        self._steps += 1
        solved = self._on_target == self.num_boxes
        truncated = not solved and self._steps >= self.max_steps
        return (self._eye.take(self._view, axis=0), reward, solved, truncated,
                {'solved': solved})

    def clone_state(self) -> Hashable:
        """``(room bytes, player index)``, in a TimedState with the step
        counter if max_steps is finite; see the class docstring."""
        if self._timed:
            return base.TimedState((bytes(self._room), self._player),
                                   self._steps)
        return bytes(self._room), self._player

    def restore_state(self, state: Hashable) -> np.ndarray:
        """Restores a clone_state() of the current room.

        Raises:
            SokobanStateError: The state is not a Sokoban state of this room
                (its walls or targets differ: another room or another reset)
                or has no step counter while max_steps is finite.
        """
        try:
            steps = state.elapsed_steps if self._timed else 0
            layout, player = state.state if self._timed else state
            # A planner restores one state several times in a row: check
            # its walls and targets once.
            fits = (layout is self._checked or
                    layout.translate(_FIXED_OF) == self._fixed)
        except (TypeError, AttributeError, ValueError):
            fits = False
        if not fits:
            raise SokobanStateError(self._state_problem(state))
        self._checked = layout
        self._room[:] = layout
        self._player = player
        self._on_target = layout.count(generation.BOX_ON_TARGET)
        self._steps = steps
        return self._eye.take(self._view, axis=0)

    def _state_problem(self, state: Any) -> str:
        shown = repr(state)
        shown = shown if len(shown) <= 60 else shown[:57] + '...'
        timed = ('a TimedState of (room bytes, player index) and the steps '
                 'taken, since max_steps is finite' if self._timed else
                 '(room bytes, player index), since max_steps is infinite')
        return (f'Sokoban.restore_state got {shown}, which is not a state of '
                f'this env\'s current room: a state is {timed}, from '
                f'clone_state() of an env with the same walls and targets. '
                f'A reset generates a new room, so states cloned before it '
                f'cannot be restored after it; clone the state again in the '
                f'current episode.')

    def render_rgb(self) -> np.ndarray:
        """The room as a uint8 (h * 16, w * 16, 3) picture in flat colours."""
        return render_room(self._view, self.render_scale)

    def render(self) -> Optional[np.ndarray]:
        """render_rgb() with render_mode='rgb_array', else None."""
        if self.render_mode != 'rgb_array':
            return None
        return self.render_rgb()


@validation.configurable(module='alpacka.envs')
class ActionNoiseSokoban(Sokoban):
    """Sokoban whose action is, with probability action_noise, replaced by a
    uniformly random one (drawn from ``np_random``, as NoisyCartPole does).

    The noise draws are part of the state, but not of its identity: a state
    is a NoisySokobanState, compared and hashed by the Sokoban state only
    (so equal layouts stay one key for a planner) and carrying the frozen
    state of ``np_random``, which ``restore_state`` rewinds, so a restored
    env replays exactly. As in NoisyCartPole, the generator is restored into
    one of the env's own, so a generator someone else assigned to
    ``np_random`` (a planner's) is read but never rewound.

    Args:
        action_noise: Probability that the action is replaced.
        **kwargs: Sokoban's arguments.
    """

    def __init__(self,
                 action_noise: Annotated[
                     float, validation.InRange(0, 1)] = 0.1,
                 **kwargs):
        known = validation.declaration_of('alpacka.envs.Sokoban').parameters
        for name in kwargs:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f' Did you mean {close[0]!r}?' if close else ''
                raise SokobanArgumentError(
                    f'ActionNoiseSokoban got an unknown argument {name!r}.'
                    f'{hint} It takes action_noise and the arguments of '
                    f'Sokoban: {", ".join(known)}.')
        super().__init__(**kwargs)
        self.action_noise = action_noise
        self._restored_rngs = {}

    def step(self, action: Any) -> tuple:
        if self.np_random.random() < self.action_noise:
            action = int(self.np_random.integers(4))
        return super().step(action)

    def clone_state(self) -> 'NoisySokobanState':
        return NoisySokobanState(super().clone_state(),
                                 noisy.freeze_rng_state(self.np_random))

    def restore_state(self, state: 'NoisySokobanState') -> np.ndarray:
        if not isinstance(state, NoisySokobanState):
            raise SokobanStateError(self._state_problem(state))
        observation = super().restore_state(state.state)
        self._np_random = noisy.thaw_into_own(state.rng, self._restored_rngs)
        return observation


class NoisySokobanState:
    """A Sokoban state plus the frozen noise generator, compared without it."""

    __slots__ = ('state', 'rng')

    def __init__(self, state: Hashable, rng: tuple):
        self.state = state
        self.rng = rng

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, NoisySokobanState) and self.state == other.state

    def __hash__(self) -> int:
        return hash(self.state)

    def __repr__(self) -> str:
        return f'NoisySokobanState({self.state!r})'
