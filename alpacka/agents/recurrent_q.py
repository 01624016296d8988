"""RecurrentQAgent: a Q-learning agent that carries an LSTM's or GRU's state.

Each step it asks for ``{'observation': [1, ...], 'state': {key: [1, H]}}``
and gets back ``{'q': [1, n_actions], 'state': {key: [1, H]}}`` (see
``alpacka.networks.RecurrentQNetwork``); the returned state is what it sends
with the next step, and an episode starts from zeros. The requests of all
agents have the same structure and shapes, so the batch stepper answers
them in one network call per round.

Besides QAgent's ``episode_id`` and ``policy``, ``agent_info['state']``
records the state each step acted from (``{key: [H]}``), so the sequence
replay can store the state at every sequence start.
"""

from typing import Annotated, Any, Callable, Dict, Optional

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.agents import q_learning
from alpacka.agents import q_policies
from alpacka.networks import recurrent_q_models
from alpacka.networks import recurrent_q_network
from alpacka.utils import validation

@validation.configurable(module='alpacka.agents')
class RecurrentQAgent(q_learning.QAgent):
    """Acts like QAgent on a RecurrentQNetwork, carrying its state.

    Its network signature (recurrent_q_network.recurrent_q_signature) holds
    the state's shape, from ``cell`` and ``recurrent_size``: the network
    reads them from there, so they are set here only.

    Args:
        policy: The acting policy (alpacka.agents.q_policies).
        n_random_steps: The run's first env steps act uniformly at random.
        cell: 'lstm' or 'gru'.
        recurrent_size: Units of the network's recurrent layer.
        parameter_schedules: See Agent.
        evaluation_epsilon: Probability of a random action in evaluation
            (see QAgent).
    """

    def __init__(self, policy: Optional[q_policies.ActingPolicy] = None,
                 n_random_steps: Annotated[int, validation.AtLeast(0)] = 0,
                 cell: recurrent_q_models.Cell = 'lstm',
                 recurrent_size: Annotated[int, validation.AtLeast(1)] = 64,
                 parameter_schedules: Optional[Dict[str, Callable]] = None,
                 evaluation_epsilon: Annotated[
                     float, validation.InRange(0, 1)] = 0.0):
        super().__init__(policy, n_random_steps, parameter_schedules,
                         evaluation_epsilon)
        self.cell = cell
        self.recurrent_size = recurrent_size
        self._state = recurrent_q_models.zero_state(cell, recurrent_size, 1)

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space
                          ) -> data.NetworkSignature:
        q_signature = super().network_signature(observation_space,
                                                action_space)
        return recurrent_q_network.recurrent_q_signature(
            q_signature.input, q_signature.output.shape[0], self.cell,
            self.recurrent_size)

    def reset(self, env: gymnasium.Env, observation: Any) -> None:
        super().reset(env, observation)
        self._state = recurrent_q_models.zero_state(self.cell,
                                                    self.recurrent_size, 1)

    def act(self, observation: Any) -> base.Coroutine:
        acted_from = self._state
        response = yield {'observation': np.asarray(observation)[np.newaxis],
                          'state': acted_from}
        self._state = {key: np.asarray(value, np.float32)
                       for key, value in response['state'].items()}
        action, index = self._choose_action(response['q'][0])
        return action, {'episode_id': np.int64(self._episode_id),
                        'policy': np.int64(index),
                        recurrent_q_network.STATE_INFO: {key: value[0]
                                for key, value in acted_from.items()}}
