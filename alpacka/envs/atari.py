"""AtariEnv: an ale-py game with the Nature DQN preprocessing.

``ALE/<game>-v5`` made with ``frameskip=1`` (this env skips frames) and
preprocessed as ``gymnasium.wrappers.AtariPreprocessing`` does: no-op starts,
frame skip with max-pooling of the last two frames, 84x84 grey uint8
observations, optionally a terminal on life loss. The ROMs ship in the ale-py
wheel.

gymnasium's wrapper needs OpenCV (it refuses to start without it), which
Alpacka does not depend on; its steps are re-done here on ALE's interface
directly, with the frame resized by Pillow's box filter (area averaging, as
OpenCV's INTER_AREA), the same on every machine, so seeded runs give the same
observations wherever they run.

Seeding: ``reset(seed=s)`` seeds ALE's generator (sticky actions) and the
env's ``np_random`` (the number of no-ops); later unseeded resets continue
both streams, so a seeded stepper replays exactly.
"""

import copy
import difflib
import re
from typing import Annotated, Any, Hashable, Literal, Optional

import gymnasium
import numpy as np

from alpacka import errors
from alpacka.envs import base
from alpacka.utils import validation


class UnknownGameError(errors.ConfigError, ValueError):
    """AtariEnv.game names no game whose ROM ale-py ships."""


def resize_frame(frame: np.ndarray, size: tuple) -> np.ndarray:
    """Area-averaged resize of a uint8 frame (Pillow's box filter).

    Args:
        frame: uint8 array of shape (height, width) or (height, width, 3).
        size: (width, height) of the result.

    Returns:
        A new uint8 array of shape (height, width) (+ (3,) for RGB).
    """
    from PIL import Image  # pylint: disable=import-outside-toplevel
    return np.array(Image.fromarray(frame).resize(size, Image.Resampling.BOX))


def _env_id(game: str) -> str:
    return f'ALE/{game}-v5'


def registered_games() -> list:
    """Names of the games ale-py registers (``Breakout``, ``Pong``, ...)."""
    _register_ale()
    pattern = re.compile(r'^ALE/([A-Za-z0-9]+)-v5$')
    return sorted(match.group(1) for match in map(pattern.match,
                                                  gymnasium.registry) if match)


def _register_ale() -> None:
    import ale_py  # pylint: disable=import-outside-toplevel
    gymnasium.register_envs(ale_py)


def _normalized(name: str) -> str:
    return name.replace('_', '').replace('-', '').lower()


def canonical_game(game: str) -> str:
    """ale-py's name of a game given in any case or in snake_case
    ('pong', 'space_invaders' -> 'Pong', 'SpaceInvaders').

    Raises:
        UnknownGameError: no such game; the message names close ones.
    """
    _register_ale()
    if _env_id(game) in gymnasium.registry:
        return game
    matches = [name for name in registered_games()
               if _normalized(name) == _normalized(game)]
    if len(matches) != 1:
        raise UnknownGameError(_unknown_game_message(game))
    return matches[0]


def _unknown_game_message(game: str) -> str:
    games = registered_games()
    by_lower = {name.lower(): name for name in games}
    close = difflib.get_close_matches(game.lower(), list(by_lower), n=3,
                                      cutoff=0.5)
    hint = (' Close names: ' + ', '.join(repr(by_lower[name]) for name in close)
            + '.') if close else ''
    return (f'AtariEnv.game = {game!r} is not a game ale-py ships (it makes '
            f'{_env_id("<game>")} ids from CamelCase names such as '
            f'\'Breakout\' or \'SpaceInvaders\').{hint} All {len(games)} '
            f'names: alpacka.envs.atari.registered_games().')


class _AtariSnapshot:
    """ALE's state (with its generator) and the frame buffers and life count;
    hashable by identity."""

    __slots__ = ('ale_state', 'buffers', 'lives', 'observation')

    def __init__(self, ale_state: Any, buffers: np.ndarray, lives: int,
                 observation: np.ndarray):
        self.ale_state = ale_state
        self.buffers = buffers
        self.lives = lives
        self.observation = observation


@validation.configurable(module='alpacka.envs')
class AtariEnv(base.ModelEnv):
    """An Atari game from pixels, preprocessed as in the Nature DQN.

    Observations are ``Box(0, 255, (screen_size, screen_size), uint8)``
    grey frames; stack them with FrameStack (or use a recurrent network).
    Actions are the game's minimal action set (or all 18). Rewards are the
    game's score changes, unclipped (clip them in the trainer).

    ``clone_state`` saves ALE's emulator state with its random generator
    (sticky actions), the two frame buffers and the life count, so after
    ``restore_state`` the same actions give the same observations and
    rewards. ``np_random`` (which only draws the no-ops of the next reset)
    is not part of the state.

    Args:
        game: ale-py's game name, e.g. 'Breakout', 'SpaceInvaders' (any
            case, or snake_case: 'space_invaders').
        frame_skip: Emulator frames per agent step (the action is repeated;
            the observation is the max of the last two frames).
        noop_max: At reset, a uniform 1..noop_max no-op frames (0: none).
        screen_size: Side of the square observation.
        terminal_on_life_loss: Losing a life terminates the episode (the
            next reset starts a new game, as in gymnasium's wrapper).
        repeat_action_probability: Sticky actions: probability that the
            emulator repeats the previous action on a frame (Machado et al.).
        full_action_space: All 18 actions instead of the game's minimal set.
        max_episode_steps: Emulator frames (not agent steps) after which the
            episode is truncated: ALE's max_num_frames_per_episode; the
            default 108,000 frames is 30 minutes of play, 27,000 agent steps
            at frame_skip 4. None: no limit.
        fire_on_reset: Press FIRE for one step after the no-ops at each
            reset, for games that wait for it (Breakout launches its first
            ball). None: whenever the game's second action is FIRE (as
            Breakout's is).
        render_mode: None or 'rgb_array' (render() then gives the RGB
            screen, 210x160x3 uint8).
    """

    metadata = {'render_modes': ['rgb_array']}

    def __init__(
            self, game: str = 'Breakout',
            frame_skip: Annotated[int, validation.AtLeast(1)] = 4,
            noop_max: Annotated[int, validation.AtLeast(0)] = 30,
            screen_size: Annotated[int, validation.AtLeast(1)] = 84,
            terminal_on_life_loss: bool = False,
            repeat_action_probability: Annotated[
                float, validation.InRange(0, 1)] = 0.25,
            full_action_space: bool = False,
            max_episode_steps: Annotated[
                Optional[int], validation.AtLeast(1)] = 108_000,
            fire_on_reset: Optional[bool] = None,
            render_mode: Optional[Literal['rgb_array']] = None):
        game = canonical_game(game)
        # What __deepcopy__ rebuilds the env from (ALE cannot be copied).
        self._init_kwargs = {
            'game': game, 'frame_skip': frame_skip, 'noop_max': noop_max,
            'screen_size': screen_size,
            'terminal_on_life_loss': terminal_on_life_loss,
            'repeat_action_probability': repeat_action_probability,
            'full_action_space': full_action_space,
            'max_episode_steps': max_episode_steps,
            'fire_on_reset': fire_on_reset, 'render_mode': render_mode}
        self._ale_env = gymnasium.make(
            _env_id(game), frameskip=1, obs_type='grayscale',
            repeat_action_probability=repeat_action_probability,
            full_action_space=full_action_space,
            max_num_frames_per_episode=max_episode_steps or 0,
            render_mode=render_mode, disable_env_checker=True).unwrapped
        self.ale = self._ale_env.ale
        self._action_set = (self.ale.getLegalActionSet() if full_action_space
                            else self.ale.getMinimalActionSet())
        meanings = self._ale_env.get_action_meanings()
        if fire_on_reset is None:
            fire_on_reset = len(meanings) >= 3 and meanings[1] == 'FIRE'
        elif fire_on_reset and 'FIRE' not in meanings:
            raise errors.ConfigError(
                f'AtariEnv.fire_on_reset = True, but {game} has no FIRE '
                f'action (its actions: {", ".join(meanings)}). Leave '
                f'fire_on_reset unset.')
        self._fire_action = meanings.index('FIRE') if fire_on_reset else None
        if noop_max and meanings[0] != 'NOOP':
            raise errors.ConfigError(
                f'AtariEnv.noop_max = {noop_max} needs action 0 to be NOOP; '
                f'{game}\'s is {meanings[0]}. Set noop_max = 0.')
        self.game = game
        self.frame_skip = frame_skip
        self._noop_max = noop_max
        self._size = (screen_size, screen_size)
        self._terminal_on_life_loss = terminal_on_life_loss
        # The last two grey frames of a step, max-pooled into the observation.
        self._buffers = np.zeros((2,) + self._ale_env.observation_space.shape,
                                 np.uint8)
        self._lives = 0
        self._observation = None
        self.observation_space = gymnasium.spaces.Box(
            0, 255, self._size, np.uint8)
        self.action_space = gymnasium.spaces.Discrete(len(self._action_set))
        self.render_mode = render_mode

    @property
    def np_random(self) -> np.random.Generator:
        """The generator of the no-op starts (ale-py env's np_random)."""
        return self._ale_env.np_random

    @np_random.setter
    def np_random(self, value: np.random.Generator) -> None:
        self._ale_env.np_random = value

    def action_meanings(self) -> list:
        """Names of the actions, e.g. ['NOOP', 'FIRE', 'RIGHT', 'LEFT']."""
        return self._ale_env.get_action_meanings()

    def _pooled_observation(self) -> np.ndarray:
        frame = (np.maximum(self._buffers[0], self._buffers[1])
                 if self.frame_skip > 1 else self._buffers[0])
        self._observation = resize_frame(frame, self._size)
        return self._observation

    def _start_episode(self, seed: Optional[int],
                       options: Optional[dict]) -> dict:
        """ale-py's reset (seeding ALE and np_random), then the no-ops."""
        _, info = self._ale_env.reset(seed=seed, options=options)
        noops = (int(self.np_random.integers(1, self._noop_max + 1))
                 if self._noop_max else 0)
        for _ in range(noops):
            self.ale.act(self._action_set[0])
            if self.ale.game_over():
                _, info = self._ale_env.reset(options=options)
        return info

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[dict] = None) -> tuple:
        info = self._start_episode(seed, options)
        self._lives = self.ale.lives()
        self.ale.getScreenGrayscale(self._buffers[0])
        self._buffers[1].fill(0)
        observation = self._pooled_observation()
        if self._fire_action is not None:
            observation, _, terminated, truncated, info = self.step(
                self._fire_action)
            if terminated or truncated:  # Only with a tiny frame limit.
                return self.reset(options=options)
        return observation, info

    def step(self, action: Any) -> tuple:
        ale_action = self._action_set[int(action)]
        reward, terminated, truncated = 0.0, False, False
        for frame in range(self.frame_skip):
            reward += self.ale.act(ale_action)
            terminated = self.ale.game_over(with_truncation=False)
            truncated = self.ale.game_truncated()
            if self._terminal_on_life_loss:
                lives = self.ale.lives()
                terminated = terminated or lives < self._lives
                self._lives = lives
            if terminated or truncated:
                break
            # The last two frames, for the max-pooling (as gymnasium's).
            if frame >= self.frame_skip - 2:
                self.ale.getScreenGrayscale(
                    self._buffers[self.frame_skip - 1 - frame])
        info = {'lives': self.ale.lives()}
        return (self._pooled_observation(), float(reward), terminated,
                truncated, info)

    def render(self) -> Optional[np.ndarray]:
        """The RGB screen (210, 160, 3) uint8, with render_mode='rgb_array'."""
        return self._ale_env.render()

    def close(self) -> None:
        self._ale_env.close()

    def __deepcopy__(self, memo: dict) -> 'AtariEnv':
        duplicate = type(self)(**self._init_kwargs)
        if self._observation is not None:
            duplicate.restore_state(self.clone_state())
        duplicate.np_random = copy.deepcopy(self.np_random, memo)
        return duplicate

    def clone_state(self) -> Hashable:
        return _AtariSnapshot(self.ale.cloneState(include_rng=True),
                              self._buffers.copy(), self._lives,
                              self._observation.copy())

    def restore_state(self, state: _AtariSnapshot) -> np.ndarray:
        self.ale.restoreState(state.ale_state)
        self._buffers[...] = state.buffers
        self._lives = state.lives
        self._observation = state.observation.copy()
        return self._observation.copy()
