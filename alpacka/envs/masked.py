"""MaskedObservation and CartPoleNoVel: envs that hide part of the state.

CartPoleNoVel is rl-baselines3-zoo's partially observable CartPole: only the
cart position and the pole angle are observed, so a policy must infer the
velocities from past observations (frame stacking or a recurrent network).
"""

from typing import Any, Hashable, Optional, Sequence

import gymnasium
import numpy as np

from alpacka import errors
from alpacka.envs import base
from alpacka.envs import classic_control
from alpacka.utils import validation


class MaskedObservationError(errors.ConfigError, ValueError):
    """MaskedObservation cannot mask this env's observations as asked."""


def _masked_space(space: gymnasium.Space, keep: Sequence[int],
                  env: gymnasium.Env) -> gymnasium.spaces.Box:
    """The Box of the kept entries (raises MaskedObservationError)."""
    if not isinstance(space, gymnasium.spaces.Box) or len(space.shape) != 1:
        raise MaskedObservationError(
            f'MaskedObservation keeps entries of flat (1-D) Box '
            f'observations; {type(env.unwrapped).__name__} observes '
            f'{space}. Mask an env with vector observations.')
    size = space.shape[0]
    bad = [index for index in keep if not -size <= index < size]
    if not keep or bad:
        raise MaskedObservationError(
            f'MaskedObservation.keep = {list(keep)} must name at least one '
            f'of the {size} observation entries (indices 0..{size - 1}); '
            f'{"it is empty" if not keep else f"{bad} are out of range"}.')
    return gymnasium.spaces.Box(space.low[list(keep)], space.high[list(keep)],
                                dtype=space.dtype)


@validation.configurable(module='alpacka.envs')
class MaskedObservation(base.ModelWrapper):
    """Observes only the entries ``keep`` of a vector observation.

    The wrapped env's state is untouched: clone/restore pass through, and
    restore_state returns the masked observation.

    Args:
        env: An env with flat Box observations.
        keep: Indices of the observation entries to keep, in that order.
    """

    def __init__(self, env: gymnasium.Env, keep: Sequence[int]):
        super().__init__(env)
        self._keep = np.array(list(keep), dtype=np.int64)
        self.observation_space = _masked_space(env.observation_space,
                                               list(keep), env)

    def _mask(self, observation: np.ndarray) -> np.ndarray:
        return np.asarray(observation)[self._keep]

    def reset(self, **kwargs) -> tuple:
        observation, info = self.env.reset(**kwargs)
        return self._mask(observation), info

    def step(self, action: Any) -> tuple:
        observation, reward, terminated, truncated, info = self.env.step(action)
        return self._mask(observation), reward, terminated, truncated, info

    def clone_state(self) -> Hashable:
        return self.env.clone_state()

    def restore_state(self, state: Hashable) -> np.ndarray:
        return self._mask(self.env.restore_state(state))


@validation.configurable(module='alpacka.envs')
class CartPoleNoVel(MaskedObservation):
    """Alpacka's CartPole observing only (x, theta): velocities masked.

    As CartPole, no built-in time limit (CartPole-v1's is 500 steps: set
    ``Runner.episode_time_limit = 500``).

    Args:
        render_mode: As gymnasium's CartPole.
    """

    def __init__(self, render_mode: Optional[str] = None):
        super().__init__(classic_control.CartPole(render_mode=render_mode),
                         keep=(0, 2))
