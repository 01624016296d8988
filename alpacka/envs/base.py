"""The model-env contract: a gymnasium.Env whose state can be saved and restored."""

import abc
from typing import Annotated, Any, Hashable

import gymnasium
import numpy as np

from alpacka.utils import validation


class ModelEnv(gymnasium.Env, abc.ABC):
    """A gymnasium env usable as a perfect model by planning agents.

    After ``restore_state(s)`` the env must behave exactly as it did when ``s``
    was returned by ``clone_state()``. States are hashable, so planners can use
    them as keys of a transposition table.
    """

    @abc.abstractmethod
    def clone_state(self) -> Hashable:
        """Returns a snapshot of the env's state (cheap, hashable)."""

    @abc.abstractmethod
    def restore_state(self, state: Hashable) -> np.ndarray:
        """Restores a snapshot from clone_state().

        Args:
            state: A value returned by clone_state() of an env of this class.

        Returns:
            The observation in the restored state.
        """


class ModelWrapper(gymnasium.Wrapper):
    """Wrapper that forwards the model-env contract to the wrapped env."""

    def clone_state(self) -> Hashable:
        """Returns the wrapped env's snapshot."""
        return self.env.clone_state()

    def restore_state(self, state: Hashable) -> np.ndarray:
        """Restores the wrapped env's snapshot and returns its observation."""
        return self.env.restore_state(state)


class TimedState:
    """A wrapped env's state plus the step counter, compared without it.

    Equality and hashing look at the wrapped state only, so the same physical
    state reached at different times is the same key for a planner; restoring
    brings the counter back too.
    """

    __slots__ = ('state', 'elapsed_steps')

    def __init__(self, state: Hashable, elapsed_steps: int):
        self.state = state
        self.elapsed_steps = elapsed_steps

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, TimedState) and self.state == other.state

    def __hash__(self) -> int:
        return hash(self.state)

    def __repr__(self) -> str:
        return f'TimedState({self.state!r}, elapsed_steps={self.elapsed_steps})'


@validation.configurable(module='alpacka.envs')
class TimeLimitWrapper(ModelWrapper):
    """Truncates episodes after ``max_episode_steps`` steps.

    The step counter is not part of the state's identity: cloned states are
    TimedStates, equal whenever the wrapped states are, so the same physical
    state reached at different times is the same key for a planner. The
    counter still travels with the state: ``restore_state(s)`` brings it back
    to its value when ``s`` was cloned, so the steps a planner simulates do
    not eat the real episode's budget.
    """

    def __init__(self, env: gymnasium.Env,
                 max_episode_steps: Annotated[int, validation.AtLeast(1)]):
        super().__init__(env)
        self._max_episode_steps = max_episode_steps
        self._elapsed_steps = 0

    def reset(self, **kwargs) -> Any:
        self._elapsed_steps = 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._elapsed_steps += 1
        if self._elapsed_steps >= self._max_episode_steps:
            truncated = True
        return observation, reward, terminated, truncated, info

    def clone_state(self) -> TimedState:
        return TimedState(self.env.clone_state(), self._elapsed_steps)

    def restore_state(self, state: TimedState) -> np.ndarray:
        self._elapsed_steps = state.elapsed_steps
        return self.env.restore_state(state.state)

    @property
    def elapsed_steps(self) -> int:
        """Steps taken since the last reset (rewound by restore_state)."""
        return self._elapsed_steps
