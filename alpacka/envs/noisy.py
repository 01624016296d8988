"""NoisyCartPole: CartPole whose pushes sometimes go the other way.

A small stochastic env for planners that sample a model: with probability
``flip_probability`` the cart is pushed opposite to the chosen action. The
random generator is part of the cloned state (as the model-env contract
requires: after ``restore_state(s)`` the env replays exactly), so cloning
stays a short hashable tuple (clone and restore cost about 3 microseconds
each, against 0.5 for CartPole without noise).
"""

# gymnasium's envs set their state in reset() and step(), not __init__.
# pylint: disable=attribute-defined-outside-init

from typing import Annotated, Any, Optional

import numpy as np

from alpacka.envs import classic_control
from alpacka.utils import validation


def freeze_rng_state(generator: np.random.Generator) -> tuple:
    """The state of a PCG64-family generator as a hashable tuple.

    Args:
        generator: A numpy Generator over PCG64 or PCG64DXSM (what
            ``np.random.default_rng`` and gymnasium's seeding make).

    Returns:
        ``(bit generator name, state, inc, has_uint32, uinteger)``.

    Raises:
        TypeError: The generator has another kind of bit generator.
    """
    state = generator.bit_generator.state
    if 'inc' not in state['state']:
        raise TypeError(
            f'freeze_rng_state supports PCG64-family generators (what '
            f'np.random.default_rng makes), got {state["bit_generator"]}.')
    return (state['bit_generator'], state['state']['state'],
            state['state']['inc'], state['has_uint32'], state['uinteger'])


def thaw_rng_state(frozen: tuple, generator: np.random.Generator) -> None:
    """Sets generator (in place) to a state from freeze_rng_state."""
    name, position, inc, has_uint32, uinteger = frozen
    generator.bit_generator.state = {
        'bit_generator': name, 'state': {'state': position, 'inc': inc},
        'has_uint32': has_uint32, 'uinteger': uinteger}


def thaw_into_own(frozen: tuple, own: dict) -> np.random.Generator:
    """A generator of the env's own (kept in ``own`` by bit generator name)
    set to a state from freeze_rng_state."""
    rng = own.get(frozen[0])
    if rng is None:
        rng = own[frozen[0]] = np.random.Generator(
            getattr(np.random, frozen[0])())
    thaw_rng_state(frozen, rng)
    return rng


@validation.configurable(module='alpacka.envs')
class NoisyCartPole(classic_control.CartPole):
    """CartPole-v1 whose push is flipped with probability flip_probability.

    The state is CartPole's ``(x, x_dot, theta, theta_dot,
    steps_beyond_terminated)`` followed by the frozen state of ``np_random``,
    which draws the flips. Like CartPole, no built-in time limit.

    ``restore_state`` writes the saved generator state into a generator of the
    env's own and makes it ``np_random``: a generator someone else assigned to
    ``np_random`` (a planner's) is read by ``clone_state`` but never rewound.

    Args:
        flip_probability: Probability that a step pushes the other way.
        render_mode: As gymnasium's CartPole.
    """

    def __init__(self,
                 flip_probability: Annotated[
                     float, validation.InRange(0, 1)] = 0.1,
                 render_mode: Optional[str] = None):
        super().__init__(render_mode=render_mode)
        self.flip_probability = flip_probability
        # Generators restore_state writes into, by bit generator name.
        self._restored_rngs = {}

    def step(self, action: Any) -> tuple:
        if self.np_random.random() < self.flip_probability:
            action = 1 - action
        return super().step(action)

    def clone_state(self) -> tuple:
        return super().clone_state() + (freeze_rng_state(self.np_random),)

    def restore_state(self, state: tuple) -> np.ndarray:
        self._np_random = thaw_into_own(state[-1], self._restored_rngs)
        return super().restore_state(state[:-1])
