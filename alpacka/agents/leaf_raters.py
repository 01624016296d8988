"""Leaf raters: first estimates of Q(s, .) at a state a search reaches anew.

A rater's ``rate(observation, model, discount)`` returns ``(qualities,
prior)``: qualities, a list of n_actions floats estimating Q(s, a) (each is
counted as one visit of its action), and prior, a list of n_actions
probabilities for PUCT, or None for UCT. ``rate`` may be a generator that
yields prediction requests (a batch of observations) and receives the
network's predictions, as agents do; one expansion makes at most one request.

When ``rate`` is called, ``model`` (a SampledModel) is in the rated state;
the rater may step and restore it freely and leave it anywhere.

Raters are Gin-configurable classes; an agent takes the class (or an
instance) and asks it for the network signature.
"""

from typing import Annotated, Any, List, Optional, Tuple

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.agents import sampled_model
from alpacka.envs import spaces
from alpacka.utils import validation

Rating = Tuple[List[float], Optional[List[float]]]


class LeafRater:
    """Base class of leaf raters."""

    def network_signature(
            self, observation_space: gymnasium.Space,
            action_space: gymnasium.Space) -> Optional[data.NetworkSignature]:
        """The network this rater asks for predictions, or None."""
        del observation_space, action_space

    def rate(self, observation: Any, model: sampled_model.SampledModel,
             discount: float) -> Any:
        """Estimates Q(s, .) at the model's current state s.

        Args:
            observation: The observation in s.
            model: The model, in s.
            discount: Per-step discount.

        Returns:
            ``(qualities, prior)`` (see the module docs), or a generator that
            yields prediction requests and returns it.
        """
        raise NotImplementedError


def _sampled_successors(model: sampled_model.SampledModel) -> tuple:
    """Takes every action once from the model's state (one sampled outcome).

    Returns:
        ``(observations, rewards, dones)``: lists indexed by action.
    """
    state = model.clone()
    observations, rewards, dones = [], [], []
    for action in range(model.n_actions):
        if action:
            model.restore(state)
        observation, reward, terminated, truncated, _ = model.step(action)
        observations.append(observation)
        rewards.append(float(reward))
        dones.append(bool(terminated or truncated))
    return observations, rewards, dones


@validation.configurable(module='alpacka.agents')
class RolloutLeafRater(LeafRater):
    """Rates each action by the returns of uniformly random rollouts.

    For each action: ``n_rollouts`` times, take the action (a sampled
    outcome), then random actions for at most ``rollout_time_limit`` steps or
    until the model ends the episode; Q is the mean discounted return. Costs
    ``n_actions * n_rollouts * (1 + rollout_time_limit)`` model steps at most
    and no network.

    Args:
        n_rollouts: Rollouts per action.
        rollout_time_limit: Random steps after the first action (None:
            until the model's episode ends; the env must end it).
    """

    def __init__(self, n_rollouts: Annotated[int, validation.AtLeast(1)] = 1,
                 rollout_time_limit: Annotated[
                     Optional[int], validation.AtLeast(0)] = 100):
        self.n_rollouts = n_rollouts
        self.rollout_time_limit = rollout_time_limit
        self._model = None
        self._sample = None

    def rate(self, observation: Any, model: sampled_model.SampledModel,
             discount: float) -> Rating:
        del observation
        if model is not self._model:
            self._model = model
            self._sample = spaces.DiscreteSampler(
                gymnasium.spaces.Discrete(model.n_actions), model.rng).sample
        sample = self._sample
        limit = self.rollout_time_limit
        state = model.clone()
        qualities = []
        for action in range(model.n_actions):
            total = 0.0
            for rollout in range(self.n_rollouts):
                if action or rollout:
                    model.restore(state)
                _, reward, terminated, truncated, _ = model.step(action)
                rollout_return = float(reward)
                scale = discount
                n_steps = 0
                while not (terminated or truncated) and (
                        limit is None or n_steps < limit):
                    _, reward, terminated, truncated, _ = model.step(sample())
                    rollout_return += scale * reward
                    scale *= discount
                    n_steps += 1
                total += rollout_return
            qualities.append(total / self.n_rollouts)
        return qualities, None


@validation.configurable(module='alpacka.agents')
class ValueNetworkLeafRater(LeafRater):
    """Rates each action by a sampled step and a state-value network.

    Takes every action once (one sampled outcome each) and asks the network
    for V of all non-terminal successors in one request:
    ``Q(s, a) = r + discount * V(s')``, with V = 0 where the model's episode
    ends. The network maps an observation to V: output shape (1,).
    """

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space
                          ) -> data.NetworkSignature:
        return data.NetworkSignature(
            input=spaces.signature(observation_space),
            output=data.TensorSignature(shape=(1,), dtype=np.float32))

    def rate(self, observation: Any, model: sampled_model.SampledModel,
             discount: float) -> base.Coroutine:
        del observation
        observations, qualities, dones = _sampled_successors(model)
        alive = [action for action, done in enumerate(dones) if not done]
        if alive:
            values = yield np.stack([np.asarray(observations[action])
                                     for action in alive])
            for action, value in zip(alive, np.asarray(values)[:, 0].tolist()):
                qualities[action] += discount * value
        return qualities, None


@validation.configurable(module='alpacka.agents')
class QualityNetworkLeafRater(LeafRater):
    """Reads Q(s, .) (and optionally a prior policy) off a network.

    One request of one observation per expansion; the model is not stepped.
    The network outputs Q(s, .), shape (n_actions,), or with use_policy
    ``{'qualities': (n_actions,), 'policy': (n_actions,)}`` where policy is
    a probability vector (give that head a softmax output activation); the
    agent then selects actions by PUCT with it as the prior.

    Args:
        use_policy: Whether the network has a policy head.
    """

    def __init__(self, use_policy: bool = False):
        self.use_policy = use_policy

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space
                          ) -> data.NetworkSignature:
        vector = data.TensorSignature(
            shape=(spaces.n_actions(action_space),), dtype=np.float32)
        output = ({'qualities': vector, 'policy': vector} if self.use_policy
                  else vector)
        return data.NetworkSignature(
            input=spaces.signature(observation_space), output=output)

    def rate(self, observation: Any, model: sampled_model.SampledModel,
             discount: float) -> base.Coroutine:
        del model, discount
        prediction = yield np.asarray(observation)[np.newaxis]
        if not self.use_policy:
            return np.asarray(prediction)[0].tolist(), None
        qualities = np.asarray(prediction['qualities'])[0].tolist()
        policy = np.maximum(np.asarray(prediction['policy'][0],
                                       dtype=np.float64), 0.0)
        total = policy.sum()
        if not total > 0:  # Also catches NaN.
            return qualities, None
        return qualities, (policy / total).tolist()
