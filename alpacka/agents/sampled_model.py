"""SampledModel: a model env that rolls fresh dice after every restore.

A planner samples a stochastic env by restoring a state and stepping. But the
model-env contract makes ``restore_state(s)`` bring back everything, the env's
random generator included (GymEnv deep-copies it, NoisyCartPole keeps it in
the state tuple). Restored twice, the env would roll the same dice twice, and
a search would see a single outcome per state and action, as if the env were
deterministic. Worse, when the model is the real env, that outcome is the one
the real env is about to draw: the search would plan with foreknowledge of the
noise (on NoisyCartPole with 30% flips, 30 simulations a step with one
rollout per leaf then balance for the full 200 steps, against about 35 when
sampled honestly). After each restore SampledModel therefore makes the env's
``np_random`` (gymnasium's convention for an env's randomness) a generator of
the planner's, set to a fresh random position, so that every simulation draws
its own outcomes. The position is set after the restore, so this holds also
for an env that rewinds its current generator in place.

``begin()`` and ``end()`` bracket a search: ``end`` restores the state cloned
by ``begin`` and gives the env back its own generator, so the real episode
goes on exactly as if there had been no search.

Randomness that does not come from ``np_random`` (Python's ``random``, a seed
kept elsewhere in the state) is not refreshed: such an env looks deterministic
to the search.
"""

import random
from typing import Any, Hashable, Optional

import gymnasium
import numpy as np

from alpacka.envs import gym_adapter
from alpacka.envs import spaces


def rng_owner(env: gymnasium.Env) -> gymnasium.Env:
    """The env object whose ``np_random`` drives env's dynamics.

    Goes through gymnasium wrappers (``unwrapped``) and through GymEnv to the
    gymnasium env it adapts (GymEnv's own ``np_random`` is unused).

    Args:
        env: A model env, possibly wrapped.

    Returns:
        The object to assign ``np_random`` on.
    """
    inner = env.unwrapped
    if isinstance(inner, gym_adapter.GymEnv):
        return inner.unwrapped_env
    return inner


class SampledModel:
    """A model env for sampling searches: restore, then fresh randomness.

    Args:
        env: The model env (``clone_state`` / ``restore_state``), Discrete
            actions.
        seed: Seeds the planner's generators (None: fresh entropy).

    Attributes:
        env: The model env.
        n_actions: Number of actions; action index i is env action
            ``i + action_start``.
        action_start: The action space's ``start``.
        rng: A generator for the planner's own draws (e.g. rollout actions),
            independent of the env's.
        n_steps: Env steps taken through ``step`` so far.
    """

    def __init__(self, env: gymnasium.Env, seed: Optional[int] = None):
        if not (hasattr(env, 'clone_state') and hasattr(env, 'restore_state')):
            raise TypeError(
                f'Planning needs a model env with clone_state() and '
                f'restore_state() (alpacka.envs.ModelEnv), got '
                f'{type(env).__name__}. Wrap a gymnasium env id in '
                f'alpacka.envs.GymEnv.')
        self.env = env
        self.n_actions = spaces.n_actions(env.action_space)
        self.action_start = int(env.action_space.start)
        self.rng = np.random.default_rng(seed)
        self.n_steps = 0
        self._owner = rng_owner(env)
        self._positions = random.Random(int(self.rng.integers(2 ** 63)))
        self._env_rng = np.random.default_rng(self.rng.integers(2 ** 63))
        # Reused for every reseed: only the position changes.
        self._rng_state = self._env_rng.bit_generator.state
        self._rng_state['has_uint32'] = 0
        self._saved_rng = None

    def begin(self) -> Hashable:
        """Starts a search: remembers the env's generator; returns its state."""
        self._saved_rng = self._owner.np_random
        return self.env.clone_state()

    def end(self, root_state: Hashable) -> None:
        """Ends a search: restores root_state and the env's own generator."""
        self.env.restore_state(root_state)
        if self._saved_rng is not None:
            self._owner.np_random = self._saved_rng
            self._saved_rng = None

    def clone(self) -> Hashable:
        """The env's state (its generator's included)."""
        return self.env.clone_state()

    def restore(self, state: Hashable) -> Any:
        """Restores state, then gives the env fresh randomness.

        Returns:
            The observation in the restored state.
        """
        observation = self.env.restore_state(state)
        self._rng_state['state']['state'] = self._positions.getrandbits(128)
        self._env_rng.bit_generator.state = self._rng_state
        self._owner.np_random = self._env_rng
        return observation

    def step(self, action: int) -> tuple:
        """Steps the env with action index ``action``; gymnasium's 5-tuple."""
        self.n_steps += 1
        return self.env.step(action + self.action_start)
