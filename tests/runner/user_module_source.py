"""Source of a user's own module, written next to the user's config by tests.

It lives outside Alpacka on purpose: the tests check that researchers can
bind their own agents and trainers from a .gin file with no change to Alpacka.
"""

SOURCE = '''
import gin
import numpy as np

import alpacka
from alpacka import data


@gin.configurable
class ThresholdAgent(alpacka.agents.OnlineAgent):
    """Asks the network for scores of a batch of one observation."""

    def network_signature(self, observation_space, action_space):
        return data.NetworkSignature(
            input=data.TensorSignature(observation_space.shape, np.float32),
            output=data.TensorSignature((action_space.n,), np.float32))

    def act(self, observation):
        scores = yield observation[np.newaxis]
        assert scores.shape == (1, 2)
        return int(observation[2] > 0), {'score': np.float32(scores[0, 0])}

    @staticmethod
    def compute_metrics(episodes):
        return {'custom_metric': float(len(episodes))}


@gin.configurable
class PlainAgent(alpacka.agents.OnlineAgent):
    """Never yields: act is a plain method."""

    def act(self, observation):
        return int(observation[2] > 0), {}


@gin.configurable
class MisfitAgent(alpacka.agents.OnlineAgent):
    """Builds a signature that does not fit CartPole's observations."""

    def network_signature(self, observation_space, action_space):
        return data.NetworkSignature(
            input=data.TensorSignature((3,), np.float32),
            output=data.TensorSignature((2,), np.float32))

    def act(self, observation):
        return 0, {}


@gin.configurable
class CountingTrainer(alpacka.trainers.Trainer):
    """Counts the transitions it has seen; the count is its checkpointed state."""

    def __init__(self, network_signature, diverge_at_epoch=None):
        super().__init__(network_signature)
        self._transitions = 0
        self._epochs = 0
        self._diverge_at_epoch = diverge_at_epoch

    def add_episode(self, episode):
        self._transitions += len(episode)

    def train_epoch(self, network):
        self._epochs += 1
        loss = float('nan') if self._epochs == self._diverge_at_epoch else 1.0
        return {'transitions_seen': float(self._transitions), 'loss': loss}

    def state_dict(self):
        return {'transitions': self._transitions, 'epochs': self._epochs}

    def load_state_dict(self, state):
        self._transitions = state['transitions']
        self._epochs = state['epochs']
'''
