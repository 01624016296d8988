"""MinAtarEnv: a MinAtar game (10x10 miniature Atari) as a gymnasium env.

The ``minatar`` package's ``Environment`` steps the game (sticky actions
included); this adapter gives it gymnasium's interface: a uint8
``(10, 10, channels)`` observation (the game's boolean state, channels
last), the game's minimal action set as a Discrete space, the game's
terminal flag as ``terminated`` and an optional time limit as
``truncated``. ``reset(seed=s)`` seeds the generator that ``Environment``
and its game share (sticky actions, spawns), as ``Environment.seed`` does
but for any int seed; later resets continue it.

Importing minatar imports matplotlib and seaborn (its renderer), about 2 s
once per process; render() here draws with numpy instead.
"""

import copy
import difflib
import importlib
import pkgutil
from typing import Annotated, Any, Hashable, Literal, Optional

import gymnasium
import numpy as np

from alpacka import errors
from alpacka.envs import base
from alpacka.utils import validation

# One colour per channel (channel i drawn in _PALETTE[i % len]); empty cells
# are black. Chosen to be told apart, not to match the original renderer.
_PALETTE = np.array([
    [230, 230, 230], [255, 80, 80], [255, 170, 60], [70, 130, 255],
    [90, 220, 90], [200, 90, 230], [250, 230, 70], [60, 220, 220],
    [255, 120, 200], [150, 150, 150]], dtype=np.uint8)


class UnknownMinAtarGameError(errors.ConfigError, ValueError):
    """MinAtarEnv.game names no game of the minatar package."""


def minatar_games() -> list:
    """The games of the installed minatar package ('breakout', ...)."""
    from minatar import environments  # pylint: disable=import-outside-toplevel
    return sorted(module.name for module in
                  pkgutil.iter_modules(environments.__path__))


def render_state(state: np.ndarray, scale: int) -> np.ndarray:
    """An RGB picture of a MinAtar state: each cell the colour of its last
    set channel, scaled up.

    Args:
        state: (10, 10, C) array, non-zero where a channel is set.
        scale: Pixels per cell side.

    Returns:
        uint8 array of shape (10 * scale, 10 * scale, 3).
    """
    set_cells = np.asarray(state) != 0
    channels = set_cells.shape[-1]
    # Index of the last set channel + 1, 0 where no channel is set.
    top = np.max(set_cells * np.arange(1, channels + 1), axis=-1)
    colours = np.concatenate([np.zeros((1, 3), np.uint8),
                              _PALETTE[np.arange(channels) % len(_PALETTE)]])
    picture = colours[top]
    return np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)


class _MinAtarSnapshot:
    """A copy of the game's attributes, the generators' states, the last
    action (sticky actions) and the time-limit counter; hashable by
    identity."""

    __slots__ = ('attributes', 'rng_states', 'last_action', 'elapsed_steps')

    def __init__(self, attributes: dict, rng_states: tuple, last_action: int,
                 elapsed_steps: int):
        self.attributes = attributes
        self.rng_states = rng_states
        self.last_action = last_action
        self.elapsed_steps = elapsed_steps


@validation.configurable(module='alpacka.envs')
class MinAtarEnv(base.ModelEnv):
    """A MinAtar game with gymnasium's interface.

    ``clone_state`` deep-copies the game's attributes (plain Python objects
    and small arrays) and saves the generators' states and the last action,
    so after ``restore_state`` the same actions replay exactly.

    Args:
        game: A minatar game: 'asterix', 'breakout', 'freeway', 'seaquest'
            or 'space_invaders'.
        sticky_action_prob: Probability that the previous action is repeated
            instead of the chosen one.
        difficulty_ramping: Games speed up over an episode (minatar's
            default).
        max_episode_steps: Steps after which an episode is truncated (None:
            no limit; the games end by themselves).
        render_mode: None or 'rgb_array' (render() gives a (160, 160, 3)
            uint8 picture, 16 pixels per cell).
    """

    metadata = {'render_modes': ['rgb_array']}
    render_scale = 16

    def __init__(
            self, game: str = 'breakout',
            sticky_action_prob: Annotated[
                float, validation.InRange(0, 1)] = 0.1,
            difficulty_ramping: bool = True,
            max_episode_steps: Annotated[
                Optional[int], validation.AtLeast(1)] = None,
            render_mode: Optional[Literal['rgb_array']] = None):
        games = minatar_games()
        if game not in games:
            close = difflib.get_close_matches(game.lower(), games, n=1)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            raise UnknownMinAtarGameError(
                f'MinAtarEnv.game = {game!r} is not a minatar game.{hint} '
                f'The games are {", ".join(games)}.')
        environment = importlib.import_module('minatar.environment')
        self._minatar = environment.Environment(
            game, sticky_action_prob=sticky_action_prob,
            difficulty_ramping=difficulty_ramping)
        self._game = self._minatar.env
        self._actions = list(self._minatar.minimal_action_set())
        self.game = game
        self.observation_space = gymnasium.spaces.Box(
            0, 1, tuple(self._game.state_shape()), np.uint8)
        self.action_space = gymnasium.spaces.Discrete(len(self._actions))
        self.render_mode = render_mode
        self._max_episode_steps = max_episode_steps
        self._elapsed_steps = 0

    def _observation(self) -> np.ndarray:
        return self._game.state().astype(np.uint8)

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[dict] = None) -> tuple:
        super().reset(seed=seed)
        if seed is not None:
            # Environment.seed's sharing, for any int seed (gymnasium's
            # convention) through a SeedSequence.
            generator = np.random.RandomState(  # pylint: disable=no-member
                np.random.MT19937(seed))
            self._minatar.random = self._game.random = generator
        self._minatar.reset()
        self._elapsed_steps = 0
        return self._observation(), {}

    def step(self, action: Any) -> tuple:
        reward, terminated = self._minatar.act(self._actions[int(action)])
        self._elapsed_steps += 1
        truncated = (not terminated and self._max_episode_steps is not None
                     and self._elapsed_steps >= self._max_episode_steps)
        return (self._observation(), float(reward), bool(terminated),
                truncated, {})

    def render(self) -> Optional[np.ndarray]:
        """The state as an RGB picture (with render_mode='rgb_array')."""
        if self.render_mode != 'rgb_array':
            return None
        return render_state(self._game.state(), self.render_scale)

    def _copy_attributes(self, attributes: dict) -> dict:
        return copy.deepcopy({key: value for key, value in attributes.items()
                              if key != 'random'})

    def _generators(self) -> tuple:
        """The sticky-action and the game's generators (one object once
        seeded)."""
        if self._minatar.random is self._game.random:
            return (self._game.random,)
        return (self._minatar.random, self._game.random)

    def clone_state(self) -> Hashable:
        return _MinAtarSnapshot(
            self._copy_attributes(vars(self._game)),
            tuple(generator.get_state() for generator in self._generators()),
            self._minatar.last_action, self._elapsed_steps)

    def restore_state(self, state: _MinAtarSnapshot) -> np.ndarray:
        vars(self._game).update(self._copy_attributes(state.attributes))
        if len(self._generators()) != len(state.rng_states):
            # Cloned before the first seeded reset and restored after it, or
            # the reverse: share the generator as the clone did, or not.
            new = np.random.RandomState  # pylint: disable=no-member
            self._minatar.random = new()
            self._game.random = (self._minatar.random
                                 if len(state.rng_states) == 1 else new())
        for generator, rng_state in zip(self._generators(),
                                        state.rng_states):
            generator.set_state(rng_state)
        self._minatar.last_action = state.last_action
        self._elapsed_steps = state.elapsed_steps
        return self._observation()
