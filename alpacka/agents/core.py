"""Model-free agents: random, and policies read off a network's logits."""

import math
from typing import Annotated, Any, Callable, Dict, List, Optional, Sequence

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.envs import spaces
from alpacka.utils import validation


@validation.configurable(module='alpacka.agents')
class RandomAgent(base.OnlineAgent):
    """Acts uniformly at random. Needs no network."""

    def __init__(self, parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        self._sample = None

    def seed(self, seed: Optional[int]) -> None:
        super().seed(seed)
        self._sample = None

    def reset(self, env: gymnasium.Env, observation: Any) -> None:
        space = env.action_space
        if self._sample is not None and space is self._action_space:
            return  # Keep the block of pre-drawn actions across episodes.
        super().reset(env, observation)
        if isinstance(space, gymnasium.spaces.Discrete):
            self._sample = spaces.DiscreteSampler(space, self._rng).sample
        else:
            space.seed(int(self._rng.integers(2 ** 31)))
            self._sample = space.sample

    def act(self, observation: Any) -> tuple:
        return self._sample(), {}


def sample_index(weights: Sequence[float], rng: np.random.Generator) -> int:
    """Draws an index with probability proportional to weights.

    Plain floats: for a handful of actions Python arithmetic is several
    times faster than numpy calls on tiny arrays.

    Args:
        weights: Non-negative, possibly unnormalised probabilities.
        rng: Supplies one uniform draw.

    Returns:
        The index.
    """
    threshold = rng.random() * sum(weights)
    cumulative = 0.0
    for index, weight in enumerate(weights):
        cumulative += weight
        if threshold < cumulative:
            return index
    return len(weights) - 1


def softmax_weights(scores: Sequence[float],
                    temperature: float = 1.0) -> List[float]:
    """Unnormalised softmax(scores / temperature), for sample_index.

    Args:
        scores: Logits.
        temperature: Positive temperature.

    Returns:
        exp((score - max) / temperature) per score.
    """
    best = max(scores)
    return [math.exp((score - best) / temperature) for score in scores]


class _PolicyNetworkAgent(base.OnlineAgent):
    """Asks the network for one vector of action scores per step.

    In evaluation mode it takes the best-scored action.
    """

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space
                          ) -> data.NetworkSignature:
        return data.NetworkSignature(
            input=spaces.signature(observation_space),
            output=data.TensorSignature(
                shape=(spaces.n_actions(action_space),), dtype=np.float32),
        )

    def act(self, observation: Any) -> base.Coroutine:
        scores = yield np.asarray(observation)[np.newaxis]
        logits = np.asarray(scores[0], dtype=np.float32)
        scores_list = logits.tolist()
        probabilities = (_greedy(scores_list) if self.evaluation
                         else self._probabilities(scores_list))
        return sample_index(probabilities, self._rng), {'logits': logits}

    def _probabilities(self, scores: List[float]) -> List[float]:
        """Action probabilities (possibly unnormalised) for the scores."""
        raise NotImplementedError

    @staticmethod
    def compute_metrics(episodes: List[data.Episode]) -> Dict[str, float]:
        logits = np.concatenate([episode.transition_batch.agent_info['logits']
                                 for episode in episodes])
        shifted = logits - np.max(logits, axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=-1,
                                            keepdims=True))
        entropy = -(np.exp(log_probs) * log_probs).sum(axis=-1)
        return {'logits_entropy_mean': float(entropy.mean())}


@validation.configurable(module='alpacka.agents')
class SoftmaxAgent(_PolicyNetworkAgent):
    """Samples from softmax(logits / temperature) of a policy network.

    Args:
        temperature: Softmax temperature; 0 is greedy.
        parameter_schedules: See Agent.
    """

    def __init__(self,
                 temperature: Annotated[float, validation.AtLeast(0)] = 1.0,
                 parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        self.temperature = temperature

    def _probabilities(self, scores: List[float]) -> List[float]:
        if self.temperature == 0:
            return _greedy(scores)
        return softmax_weights(scores, self.temperature)


@validation.configurable(module='alpacka.agents')
class EpsilonGreedyAgent(_PolicyNetworkAgent):
    """Takes the best-scored action, or a random one with probability epsilon.

    Args:
        epsilon: Exploration probability.
        parameter_schedules: See Agent.
    """

    def __init__(self,
                 epsilon: Annotated[float, validation.InRange(0, 1)] = 0.05,
                 parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        self.epsilon = epsilon

    def _probabilities(self, scores: List[float]) -> List[float]:
        uniform = self.epsilon / len(scores)
        return [(1 - self.epsilon) * greedy + uniform
                for greedy in _greedy(scores)]


def _greedy(scores: List[float]) -> List[float]:
    """Uniform over the best-scored actions."""
    best = max(scores)
    is_best = [float(score == best) for score in scores]
    n_best = sum(is_best)
    return [value / n_best for value in is_best]
