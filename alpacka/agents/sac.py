"""The Soft Actor-Critic agent: acts with the actor of a SoftActorCriticNetwork."""

from typing import Annotated, Any, Callable, Dict, List, Optional

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.agents import core
from alpacka.networks import sac as sac_network
from alpacka.utils import validation


@validation.configurable(module='alpacka.agents')
class SoftActorCriticAgent(base.OnlineAgent):
    """Acts with a SAC actor: stochastic in training, deterministic in evaluation.

    Each step yields the observation as a batch of one; the network answers
    (see SoftActorCriticNetwork.predict) with ``{'mean', 'sample'}`` actions
    for Box spaces (already squashed into the bounds) or ``{'logits'}`` for
    Discrete ones. In training the agent takes the sampled action (or samples
    the logits); in evaluation the mean (or the argmax). During its first
    ``n_random_steps`` training steps it acts uniformly at random instead, to
    fill the replay buffer with diverse data.

    Args:
        n_random_steps: Training steps of uniformly random actions. In
            step-based collection they are the run's first n_random_steps
            environment steps, all envs together (read from
            ``self.env_steps``, so a resumed run does not repeat them);
            otherwise each agent counts its own steps.
        parameter_schedules: See Agent.
    """

    def __init__(self,
                 n_random_steps: Annotated[int, validation.AtLeast(0)] = 0,
                 parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        self.n_random_steps = n_random_steps
        self._steps = 0

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space
                          ) -> data.NetworkSignature:
        if not isinstance(action_space, (gymnasium.spaces.Box,
                                         gymnasium.spaces.Discrete)):
            raise TypeError(f'SoftActorCriticAgent needs a Box or Discrete '
                            f'action space, got {action_space}.')
        return sac_network.network_signature(observation_space, action_space)

    def reset(self, env: gymnasium.Env, observation: Any) -> None:
        if env.action_space is not self._action_space:
            env.action_space.seed(int(self._rng.integers(2 ** 31)))
        super().reset(env, observation)

    def act(self, observation: Any) -> base.Coroutine:
        prediction = yield np.asarray(observation, np.float32)[np.newaxis]
        exploring = not self.evaluation
        steps = self._steps if self.env_steps is None else self.env_steps
        if exploring and steps < self.n_random_steps:
            action = self._action_space.sample()
        elif 'logits' in prediction:
            logits = prediction['logits'][0].tolist()
            if exploring:
                action = core.sample_index(core.softmax_weights(logits),
                                           self._rng)
            else:
                action = int(np.argmax(logits))
        else:
            key = 'sample' if exploring else 'mean'
            action = np.asarray(prediction[key][0], np.float32)
        if exploring:
            self._steps += 1
        return action, {}

    @staticmethod
    def compute_metrics(episodes: List[data.Episode]) -> Dict[str, float]:
        actions = np.concatenate([np.asarray(episode.transition_batch.action,
                                             np.float64).reshape(len(episode), -1)
                                  for episode in episodes])
        return {'action_mean': float(actions.mean()),
                'action_std': float(actions.std())}
