"""FrameStack: observations are the last k observations of any Box env.

A stack of frames on a new leading axis, newest last, gives a feed-forward
network the recent past: the velocities of a masked CartPole, the ball's
direction in Atari. Replays that know the stacks overlap can store each frame
once (the newest, ``observation[-1]``) and rebuild the stacks when sampling.
"""

from typing import Annotated, Any, Callable, Hashable, Optional, Union

import gymnasium
import numpy as np

from alpacka import errors
from alpacka.envs import base
from alpacka.utils import validation


class FrameStackError(errors.ConfigError, TypeError):
    """FrameStack was given an env it cannot stack, or no env."""


class StackedState:
    """The wrapped env's state and the frames on the stack.

    Equal when both are (the frames compared by value), so the same stack
    over the same state is the same key for a planner.
    """

    __slots__ = ('state', 'frames')

    def __init__(self, state: Hashable, frames: np.ndarray):
        self.state = state
        self.frames = frames

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, StackedState) and self.state == other.state
                and np.array_equal(self.frames, other.frames))

    def __hash__(self) -> int:
        return hash((self.state, self.frames.tobytes()))


def _stacked_space(space: gymnasium.Space, n_frames: int,
                   env: gymnasium.Env) -> gymnasium.spaces.Box:
    """The Box of n_frames stacked observations (raises FrameStackError)."""
    if not isinstance(space, gymnasium.spaces.Box):
        raise FrameStackError(
            f'FrameStack stacks array observations (a gymnasium Box); '
            f'{type(env.unwrapped).__name__} observes {space}. Stack an env '
            f'with Box observations, or flatten this one first (e.g. '
            f'gymnasium.wrappers.FlattenObservation).')
    low = np.repeat(space.low[np.newaxis], n_frames, axis=0)
    high = np.repeat(space.high[np.newaxis], n_frames, axis=0)
    return gymnasium.spaces.Box(low, high, dtype=space.dtype)


@validation.configurable(module='alpacka.envs')
class FrameStack(base.ModelWrapper):
    """Stacks the last ``n_frames`` observations of an env.

    Observations have shape ``(n_frames,) + inner shape`` and the inner
    dtype, the newest frame last; after a reset the stack is the first
    observation repeated. Cloned states include the stack (StackedState).

    In Gin::

        Runner.env_class = @alpacka.envs.FrameStack
        FrameStack.env_class = @alpacka.envs.CartPoleNoVel
        FrameStack.n_frames = 4

    Args:
        env_class: Makes the env to stack (called with env_kwargs), or an env
            instance to wrap.
        n_frames: Observations per stack.
        env: An env instance to wrap (instead of env_class).
        **env_kwargs: Passed to env_class (e.g. Runner.env_kwargs).
    """

    def __init__(self,
                 env_class: Union[Callable, gymnasium.Env, None] = None,
                 n_frames: Annotated[int, validation.AtLeast(1)] = 4,
                 env: Optional[gymnasium.Env] = None, **env_kwargs):
        if isinstance(env_class, gymnasium.Env):
            env_class, env = None, env_class
        if (env is None) == (env_class is None):
            raise FrameStackError(
                'FrameStack needs the env to stack: bind FrameStack.env_class '
                '(e.g. FrameStack.env_class = @alpacka.envs.CartPoleNoVel) or '
                'pass env=, not both and not neither.')
        if env is None:
            env = env_class(**env_kwargs)
        elif env_kwargs:
            raise FrameStackError(
                f'FrameStack got an env instance and env kwargs '
                f'{sorted(env_kwargs)}; kwargs go to env_class only.')
        super().__init__(env)
        self.n_frames = n_frames
        self.observation_space = _stacked_space(env.observation_space,
                                                n_frames, env)
        self._frames = None

    def reset(self, **kwargs) -> tuple:
        observation, info = self.env.reset(**kwargs)
        self._frames = np.repeat(np.asarray(observation)[np.newaxis],
                                 self.n_frames, axis=0)
        return self._frames.copy(), info

    def step(self, action: Any) -> tuple:
        observation, reward, terminated, truncated, info = self.env.step(action)
        # Shift in place (numpy buffers the overlap); hand out a copy.
        self._frames[:-1] = self._frames[1:]
        self._frames[-1] = observation
        return self._frames.copy(), reward, terminated, truncated, info

    def clone_state(self) -> StackedState:
        return StackedState(self.env.clone_state(), self._frames.copy())

    def restore_state(self, state: StackedState) -> np.ndarray:
        self.env.restore_state(state.state)
        self._frames = state.frames.copy()
        return self._frames.copy()
