"""Small deterministic envs and networks with known answers, for MCTS tests."""

from typing import Any, Dict, Hashable, List, Optional, Sequence, Tuple

import gymnasium
import numpy as np

from coroutine_driver import drive
from alpacka import data
from alpacka import networks
from alpacka.envs import base

# {state: [(next_state, reward, terminated) for each action]}.
Transitions = Dict[Hashable, Sequence[Tuple[Hashable, float, bool]]]

# The greedy first reward is a trap: 'trap' gives 1 and then the episode ends;
# 'a1' gives nothing at first, but two steps further 'goal' gives 3. Both 'a1'
# and 'a2' have an action leading back up the path (a loop).
TRAP = {
    'start': [('trap', 1.0, False), ('a1', 0.0, False)],
    'trap': [('trap_end', 0.0, True), ('trap_end', 0.0, True)],
    'a1': [('a2', 0.0, False), ('start', 0.0, False)],
    'a2': [('goal', 3.0, True), ('a1', 0.0, False)],
}
TRAP_BEST_ACTION = 1

# Two paths reach 'shared' (start -> left -> shared, start -> right -> shared),
# and 'left' reaches it with both of its actions.
DIAMOND = {
    'start': [('left', 0.0, False), ('right', 0.0, False)],
    'left': [('shared', 0.0, False), ('shared', 0.0, False)],
    'right': [('shared', 0.0, False), ('end', 0.0, True)],
    'shared': [('deep', 1.0, False), ('end', 0.0, True)],
    'deep': [('end', 1.0, True), ('end', 0.0, True)],
}

# Action 0 stays put; action 1 goes one step along a corridor whose far end
# (after 'c2') pays 1. From 'c1' action 0 also leads back to 'start'.
CORRIDOR = {
    'start': [('start', 0.0, False), ('c1', 0.0, False)],
    'c1': [('start', 0.0, False), ('c2', 0.0, False)],
    'c2': [('c1', 0.0, False), ('exit', 1.0, True)],
}

# Every action loops back to the only state.
CAGE = {'start': [('start', 0.0, False), ('start', 0.0, False)]}


class TabularEnv(base.ModelEnv):
    """A deterministic env given by a transition table, with hashable states.

    The observation is the state's index in the table (a [1] float32 array).
    Every step is logged in ``steps`` as ``(state, action)``.

    Args:
        transitions: See Transitions; every state that is not a key is
            terminal.
        initial_state: The state reset() starts in.
    """

    def __init__(self, transitions: Transitions,
                 initial_state: Hashable = 'start'):
        self._transitions = transitions
        names = list(transitions)
        for outcomes in transitions.values():
            names.extend(state for state, _, _ in outcomes
                         if state not in names)
        self._index = {state: index for index, state in enumerate(names)}
        self._initial_state = initial_state
        self.observation_space = gymnasium.spaces.Box(
            0, len(names), shape=(1,), dtype=np.float32)
        self.action_space = gymnasium.spaces.Discrete(
            len(transitions[initial_state]))
        self.state = initial_state
        self.steps: List[Tuple[Hashable, int]] = []

    def _observation(self) -> np.ndarray:
        return np.array([self._index[self.state]], np.float32)

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[dict] = None) -> tuple:
        super().reset(seed=seed)
        self.state = self._initial_state
        return self._observation(), {}

    def step(self, action: Any) -> tuple:
        self.steps.append((self.state, int(action)))
        if self.state not in self._transitions:
            raise AssertionError(f'Stepped from the terminal state '
                                 f'{self.state!r}.')
        self.state, reward, terminated = self._transitions[self.state][action]
        return self._observation(), reward, terminated, False, {}

    def render(self) -> None:
        """Nothing to draw."""

    def clone_state(self) -> Hashable:
        return self.state

    def restore_state(self, state: Hashable) -> np.ndarray:
        self.state = state
        return self._observation()

    def is_terminal(self, state: Hashable) -> bool:
        """Whether state ends the episode (has no outgoing transitions)."""
        return state not in self._transitions


class ConstantNetwork(networks.Network):
    """Predicts the same value and policy logits for every observation.

    Records the batch size of every predict call in ``batch_sizes``.

    Args:
        network_signature: The agent's signature.
        logits: Policy logits [n_actions] (for signatures with a policy).
        value: The predicted value.
    """

    def __init__(self, network_signature: data.NetworkSignature,
                 logits: Sequence[float] = (0.0, 0.0), value: float = 0.0):
        super().__init__(network_signature)
        self._logits = np.asarray(logits, np.float32)
        self._value = value
        self.batch_sizes: List[int] = []

    def predict(self, inputs: Any) -> Any:
        batch_size = len(inputs)
        self.batch_sizes.append(batch_size)
        values = np.full((batch_size, 1), self._value, np.float32)
        if isinstance(self._network_signature.output, dict):
            return {'value': values,
                    'policy': np.tile(self._logits, (batch_size, 1))}
        return values

    @property
    def params(self) -> Any:
        return None

    @params.setter
    def params(self, new_params: Any) -> None:
        del new_params


def run_act(agent: Any, observation: Any, network: Optional[Any] = None
            ) -> Tuple[Any, dict, int]:
    """Drives one act() coroutine, answering requests with network.

    Returns:
        ``(action, agent_info, number of requests)``.
    """
    (action, info), requests = drive(
        agent.act(observation),
        predict=None if network is None else network.predict)
    return action, info, len(requests)
