"""Makes any registered gymnasium env usable as an Alpacka model env."""

import copy
import difflib
from typing import Annotated, Any, Optional, Sequence

import gymnasium
import numpy as np

from alpacka import errors
from alpacka.envs import base
from alpacka.utils import validation

# Attributes that hold rendering resources, not dynamics; never cloned.
_UNCLONED_ATTRIBUTES = frozenset({'screen', 'clock', 'viewer', 'window',
                                  'renderer', 'surf'})

# Attributes gymnasium's toy-text envs never change after construction (the
# transition table and map): shared by clones instead of deep-copied, which
# makes FrozenLake's clone about 100 times cheaper.
DEFAULT_STATIC_ATTRIBUTES = ('P', 'desc', 'initial_state_distrib')


class UnknownEnvIdError(errors.ConfigError, ValueError):
    """GymEnv.env_id names no env gymnasium can make (a ValueError too, as
    before it was a ConfigError)."""


def _unknown_env_message(env_id: str, error: Exception) -> str:
    """Names the binding, gymnasium's reason and the closest registered id."""
    message = (f'GymEnv.env_id = {env_id!r}: gymnasium could not make it '
               f'({str(error).rstrip(".")}).')
    if 'did you mean' not in str(error).lower():
        closest = difflib.get_close_matches(
            str(env_id), list(gymnasium.registry), n=1, cutoff=0.6)
        if closest:
            message += f' Did you mean {closest[0]!r}?'
    return (message + ' Registered ids are listed by '
            'gymnasium.pprint_registry().')


class _Snapshot:
    """An opaque copy of an env's state, hashable by identity."""

    __slots__ = ('attributes', 'observation')

    def __init__(self, attributes: dict, observation: Any):
        self.attributes = attributes
        self.observation = observation


@validation.configurable(module='alpacka.envs')
class GymEnv(base.ModelEnv):
    """Adapter for a gymnasium env id, e.g. ``GymEnv(env_id='Acrobot-v1')``.

    Cloning deep-copies the unwrapped env's attributes (its random generator
    included), which is correct for any env but slower than a dedicated
    clone such as CartPole's. The env spec's time limit, if any, is applied
    with TimeLimitWrapper semantics: its counter is not part of the state.

    Args:
        env_id: A gymnasium registry id.
        max_episode_steps: Overrides the spec's time limit (None keeps it).
        static_attributes: Names of the env's attributes that never change
            after construction; clones share them instead of copying them.
        **kwargs: Passed to gymnasium.make.
    """

    def __init__(self, env_id: str = 'CartPole-v1',
                 max_episode_steps: Annotated[
                     Optional[int], validation.AtLeast(1)] = None,
                 static_attributes: Sequence[str] = DEFAULT_STATIC_ATTRIBUTES,
                 **kwargs):
        try:
            env = gymnasium.make(env_id, disable_env_checker=True, **kwargs)
        except gymnasium.error.Error as error:
            raise UnknownEnvIdError(_unknown_env_message(env_id, error)
                                    ) from error
        if max_episode_steps is None and env.spec is not None:
            max_episode_steps = env.spec.max_episode_steps
        self._env = env.unwrapped
        self._uncloned = _UNCLONED_ATTRIBUTES | frozenset(static_attributes)
        self._max_episode_steps = max_episode_steps
        self._elapsed_steps = 0
        self._last_observation = None
        self.observation_space = self._env.observation_space
        self.action_space = self._env.action_space
        self.metadata = self._env.metadata
        self.render_mode = self._env.render_mode
        self.spec = env.spec

    @property
    def unwrapped_env(self) -> gymnasium.Env:
        """The adapted gymnasium env."""
        return self._env

    @property
    def np_random(self) -> np.random.Generator:
        """The adapted env's random generator (planners may replace it)."""
        return self._env.np_random

    @np_random.setter
    def np_random(self, value: np.random.Generator) -> None:
        self._env.np_random = value

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[dict] = None) -> tuple:
        observation, info = self._env.reset(seed=seed, options=options)
        self._elapsed_steps = 0
        self._last_observation = observation
        return observation, info

    def step(self, action: Any) -> tuple:
        observation, reward, terminated, truncated, info = self._env.step(action)
        self._elapsed_steps += 1
        if (self._max_episode_steps is not None and
                self._elapsed_steps >= self._max_episode_steps):
            truncated = True
        self._last_observation = observation
        return observation, reward, terminated, truncated, info

    def render(self) -> Any:
        return self._env.render()

    def close(self) -> None:
        self._env.close()

    def clone_state(self) -> _Snapshot:
        attributes = {key: value for key, value in vars(self._env).items()
                      if key not in self._uncloned}
        attributes = copy.deepcopy(attributes)
        attributes['_alpacka_elapsed_steps'] = self._elapsed_steps
        return _Snapshot(attributes, copy.deepcopy(self._last_observation))

    def restore_state(self, state: _Snapshot) -> np.ndarray:
        attributes = copy.deepcopy(state.attributes)
        self._elapsed_steps = attributes.pop('_alpacka_elapsed_steps')
        vars(self._env).update(attributes)
        self._last_observation = copy.deepcopy(state.observation)
        return self._last_observation
