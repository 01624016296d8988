"""Test helpers for StochasticMCTSAgent: a tabular stochastic env, a counting
network, and tiny MDPs whose action values are known by hand."""

from typing import Any, Dict, List, Optional, Tuple

import gymnasium
import numpy as np

from alpacka import data
from alpacka import envs
from alpacka import networks
from alpacka.envs import noisy

# {state: {action: [(probability, next_state, reward, terminal), ...]}}
Table = Dict[int, Dict[int, List[Tuple[float, int, float, bool]]]]


class TabularEnv(envs.ModelEnv):
    """A finite MDP given by a table, with one-hot observations.

    Outcomes are drawn from ``np_random``, whose state is part of the cloned
    state (as in GymEnv and NoisyCartPole), so restoring a state replays the
    same outcome unless a planner refreshes the randomness. Stepping after
    the episode ended raises, so a search that expands a terminal state
    fails loudly.

    Attributes:
        n_steps: Steps taken since construction (model steps included).
    """

    def __init__(self, table: Table, n_states: int, n_actions: int):
        self._table = table
        self.observation_space = gymnasium.spaces.Box(
            0.0, 1.0, shape=(n_states,), dtype=np.float32)
        self.action_space = gymnasium.spaces.Discrete(n_actions)
        self._state = 0
        self._done = False
        self._restored_rng = np.random.default_rng()
        self.n_steps = 0

    def _observation(self) -> np.ndarray:
        observation = np.zeros(self.observation_space.shape, np.float32)
        observation[self._state] = 1.0
        return observation

    def reset(self, *, seed: Optional[int] = None,
              options: Optional[dict] = None) -> tuple:
        super().reset(seed=seed)
        self._state = 0
        self._done = False
        return self._observation(), {}

    def step(self, action: Any) -> tuple:
        if self._done:
            raise RuntimeError('TabularEnv stepped after its episode ended.')
        self.n_steps += 1
        outcomes = self._table[self._state][int(action)]
        threshold = self.np_random.random()
        index = 0
        while (index < len(outcomes) - 1 and
               threshold >= sum(p for p, *_ in outcomes[:index + 1])):
            index += 1
        _, self._state, reward, self._done = outcomes[index]
        return self._observation(), reward, self._done, False, {}

    def render(self) -> None:
        """Nothing to draw."""

    def clone_state(self) -> tuple:
        return (self._state, self._done,
                noisy.freeze_rng_state(self.np_random))

    def restore_state(self, state: tuple) -> np.ndarray:
        self._state, self._done, frozen = state
        noisy.thaw_rng_state(frozen, self._restored_rng)
        self.np_random = self._restored_rng
        return self._observation()


def gamble_env(risky_probability: float) -> TabularEnv:
    """One decision: action 0 pays 0.5 surely, action 1 pays 1 with
    probability risky_probability, else 0. Both end the episode."""
    return TabularEnv({0: {
        0: [(1.0, 1, 0.5, True)],
        1: [(risky_probability, 1, 1.0, True),
            (1.0 - risky_probability, 1, 0.0, True)],
    }}, n_states=2, n_actions=2)


def fork_env() -> TabularEnv:
    """Two decisions. Action 0 leads to A or B (each with probability 0.5);
    in A action 0 pays 1, in B action 1 pays 1, the other pays 0. Action 1
    leads surely to C, where both actions pay 0.6. Undiscounted, closed-loop
    Q = (1, 0.6); an open-loop plan (a fixed action sequence) rates action 0
    at 0.5 only."""
    a_state, b_state, c_state, end = 1, 2, 3, 4
    return TabularEnv({
        0: {0: [(0.5, a_state, 0.0, False), (0.5, b_state, 0.0, False)],
            1: [(1.0, c_state, 0.0, False)]},
        a_state: {0: [(1.0, end, 1.0, True)], 1: [(1.0, end, 0.0, True)]},
        b_state: {0: [(1.0, end, 0.0, True)], 1: [(1.0, end, 1.0, True)]},
        c_state: {0: [(1.0, end, 0.6, True)], 1: [(1.0, end, 0.6, True)]},
    }, n_states=5, n_actions=2)


def chain_env() -> TabularEnv:
    """Never ends: every action pays 1 and stays in state 0."""
    return TabularEnv({0: {0: [(1.0, 0, 1.0, False)],
                           1: [(1.0, 0, 1.0, False)]}},
                      n_states=1, n_actions=2)


class CountingNetwork(networks.DummyNetwork):
    """Answers with constants and records the batch size of every call.

    Args:
        network_signature: The signature to answer for.
        outputs: ``{leaf name or '': per-example value}``: what each output
            leaf answers (broadcast to its shape); zeros by default.
    """

    def __init__(self, network_signature: data.NetworkSignature,
                 outputs: Optional[Dict[str, Any]] = None):
        super().__init__(network_signature)
        self._outputs = outputs or {}
        self.batch_sizes = []

    def predict(self, inputs: Any) -> Any:
        batch_size = len(inputs)
        self.batch_sizes.append(batch_size)
        output = self.network_signature.output

        def answer(signature, name=''):
            value = self._outputs.get(name, 0.0)
            return np.broadcast_to(
                np.asarray(value, dtype=signature.dtype),
                (batch_size,) + tuple(signature.shape)).copy()

        if isinstance(output, dict):
            return {name: answer(signature, name)
                    for name, signature in output.items()}
        return answer(output)
