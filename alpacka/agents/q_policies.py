"""Acting policies of Q-learning agents: how Q values become an action.

Each policy is a small configurable object with ``choose(q_values, rng,
context) -> action``; its parameters may follow a schedule of the run's env
steps (``alpacka.utils.schedules.LinearSchedule``). Q values are a plain
list: for a handful of actions Python is faster than numpy on tiny arrays.
"""

import math
from typing import Annotated, Callable, List, NamedTuple, Sequence, Union

import numpy as np

from alpacka.agents import core
from alpacka.utils import validation

# A number, or a schedule: fn(env_steps) -> number.
Scheduled = Union[float, Callable[[int], float]]


class ActingContext(NamedTuple):
    """What a policy may depend on besides the Q values.

    Attributes:
        env_steps: The run's env steps so far (all envs together).
        actor_index: The acting env's index in the whole batch of envs.
        n_actors: That batch's size.
    """
    env_steps: int
    actor_index: int = 0
    n_actors: int = 1


def scheduled_value(value: Scheduled, env_steps: int) -> float:
    """value, or value(env_steps) for a schedule."""
    return float(value(env_steps)) if callable(value) else float(value)


def greedy_action(q_values: Sequence[float], rng: np.random.Generator) -> int:
    """An action of maximal Q value, ties broken uniformly at random."""
    best = max(q_values)
    ties = [index for index, value in enumerate(q_values) if value == best]
    return ties[0] if len(ties) == 1 else ties[int(rng.integers(len(ties)))]


def apex_epsilon(actor_index: int, n_actors: int, base: float = 0.4,
                 alpha: float = 7.0) -> float:
    """Ape-X's per-actor epsilon ``base ** (1 + alpha * i / (N - 1))``
    (Horgan et al. 2018; 0.4 and 7 there); ``base`` for a single actor."""
    if n_actors <= 1:
        return base
    return base ** (1.0 + alpha * actor_index / (n_actors - 1))


class ActingPolicy:
    """Base of acting policies. Subclasses set ``name`` and write choose()."""

    name = 'policy'

    def choose(self, q_values: List[float], rng: np.random.Generator,
               context: ActingContext) -> int:
        """The action for these Q values.

        Args:
            q_values: Q value of each action.
            rng: The agent's generator.
            context: Env steps and the actor's place in the batch.

        Returns:
            The action's index.
        """
        raise NotImplementedError


@validation.configurable(module='alpacka.agents')
class GreedyPolicy(ActingPolicy):
    """Takes an action of maximal Q value."""

    name = 'greedy'

    def choose(self, q_values: List[float], rng: np.random.Generator,
               context: ActingContext) -> int:
        return greedy_action(q_values, rng)


@validation.configurable(module='alpacka.agents')
class RandomPolicy(ActingPolicy):
    """Takes a uniformly random action."""

    name = 'random'

    def choose(self, q_values: List[float], rng: np.random.Generator,
               context: ActingContext) -> int:
        return int(rng.integers(len(q_values)))


@validation.configurable(module='alpacka.agents')
class EpsilonGreedyPolicy(ActingPolicy):
    """Greedy, or uniformly random with probability epsilon.

    Args:
        epsilon: The probability, or a schedule of the run's env steps
            (e.g. ``@alpacka.utils.schedules.LinearSchedule()``).
        name: Its label in per-policy metrics.
    """

    def __init__(self, epsilon: Scheduled = 0.05,
                 name: str = 'epsilon_greedy'):
        self.epsilon = epsilon
        self.name = name

    def choose(self, q_values: List[float], rng: np.random.Generator,
               context: ActingContext) -> int:
        if rng.random() < scheduled_value(self.epsilon, context.env_steps):
            return int(rng.integers(len(q_values)))
        return greedy_action(q_values, rng)


@validation.configurable(module='alpacka.agents')
class ApeXEpsilonGreedyPolicy(ActingPolicy):
    """Epsilon-greedy with Ape-X's fixed per-actor epsilons (apex_epsilon).

    Args:
        base: epsilon of the first actor.
        alpha: Spread of the epsilons across actors.
    """

    name = 'apex_epsilon_greedy'

    def __init__(self, base: Annotated[float, validation.InRange(0, 1)] = 0.4,
                 alpha: Annotated[float, validation.AtLeast(0)] = 7.0):
        self.base = base
        self.alpha = alpha

    def choose(self, q_values: List[float], rng: np.random.Generator,
               context: ActingContext) -> int:
        epsilon = apex_epsilon(context.actor_index, context.n_actors,
                               self.base, self.alpha)
        if rng.random() < epsilon:
            return int(rng.integers(len(q_values)))
        return greedy_action(q_values, rng)


@validation.configurable(module='alpacka.agents')
class BoltzmannPolicy(ActingPolicy):
    """Samples from softmax(Q / temperature).

    Args:
        temperature: The temperature (> 0), or a schedule of env steps.
        name: Its label in per-policy metrics.
    """

    def __init__(self, temperature: Scheduled = 1.0, name: str = 'boltzmann'):
        self.temperature = temperature
        self.name = name

    def choose(self, q_values: List[float], rng: np.random.Generator,
               context: ActingContext) -> int:
        temperature = scheduled_value(self.temperature, context.env_steps)
        if temperature <= 0 or not math.isfinite(temperature):
            raise ValueError(f'BoltzmannPolicy: the temperature must be '
                             f'positive, got {temperature}.')
        return core.sample_index(core.softmax_weights(q_values, temperature),
                                 rng)
