"""Open-loop action sequences scored on a model env (continuous planning).

Shared by random shooting in Box action spaces (``ShootingAgent``) and by
``CEMAgent``. A sequence is played from a cloned root state, one Python
``env.step`` per action (the env is the perfect model); the env is put back
in the root state afterwards.
"""

from typing import Any, Hashable, List, NamedTuple, Tuple

import gymnasium
import numpy as np


class SequenceRollouts(NamedTuple):
    """What playing N action sequences of horizon H from one state gave.

    Attributes:
        returns: [N] float64, discounted sum of each sequence's rewards.
        lengths: [N] int, steps played (below H where the env terminated).
        terminated: [N] bool, whether the env terminated within the sequence.
        final_observations: N observations, each where its sequence stopped.
    """
    returns: np.ndarray
    lengths: np.ndarray
    terminated: np.ndarray
    final_observations: List[Any]


def box_bounds(space: gymnasium.Space) -> Tuple[np.ndarray, np.ndarray]:
    """The finite ``(low, high)`` bounds of a Box action space, as float64.

    Raises:
        TypeError: space is not a Box.
        ValueError: a bound is infinite (uniform sampling needs bounds).
    """
    if not isinstance(space, gymnasium.spaces.Box):
        raise TypeError(f'Planning over action sequences needs a Box action '
                        f'space, got {space}.')
    low = np.asarray(space.low, dtype=np.float64)
    high = np.asarray(space.high, dtype=np.float64)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ValueError(f'Planning over action sequences samples actions '
                         f'within the bounds of the action space, but {space} '
                         f'has infinite bounds. Wrap the env so that its '
                         f'action space is bounded.')
    return low, high


def rollout_sequences(env: gymnasium.Env, root_state: Hashable,
                      action_sequences: np.ndarray,
                      discount: float = 1.0) -> SequenceRollouts:
    """Plays each action sequence from root_state and sums its rewards.

    A sequence stops early when the env terminates; truncation signals of the
    model are ignored (a planner's horizon is its own time limit).

    Args:
        env: A model env (``clone_state``/``restore_state``).
        root_state: The state every sequence starts from.
        action_sequences: [N, H, ...action_shape] actions.
        discount: Per-step discount of the returns.

    Returns:
        SequenceRollouts of the N sequences. The env is left in root_state.
    """
    n_sequences, horizon = action_sequences.shape[:2]
    weights = (discount ** np.arange(horizon)).tolist()
    returns = np.zeros(n_sequences)
    lengths = np.full(n_sequences, horizon)
    terminated = np.zeros(n_sequences, dtype=bool)
    final_observations = [None] * n_sequences
    step = env.step
    for index in range(n_sequences):
        observation = env.restore_state(root_state)
        total = 0.0
        for length, (action, weight) in enumerate(
                zip(action_sequences[index], weights), start=1):
            observation, reward, done, _, _ = step(action)
            total += weight * reward
            if done:
                terminated[index] = True
                lengths[index] = length
                break
        returns[index] = total
        final_observations[index] = observation
    env.restore_state(root_state)
    return SequenceRollouts(returns, lengths, terminated, final_observations)
