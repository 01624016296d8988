"""StochasticMCTSAgent: MCTS for stochastic envs, chance sampled from the model.

The tree is closed-loop: decision nodes (states) alternate with chance nodes
(an action taken in a state), and a chance node's children are the distinct
outcomes sampled so far, keyed by ``(observation, episode ended)``. Each
simulation restores the root (with fresh randomness, see SampledModel) and
walks down: at a decision node it picks an action by UCT (PUCT when the leaf
rater gave a prior), steps the model, which samples an outcome, and follows
or creates that outcome's node; at the first node not yet expanded it asks
the leaf rater for Q(s, .), which initialises the node's chance nodes, and
backs up max_a Q(s, a) as the leaf's value. Nodes where the model's episode
ended (terminated or truncated) are never expanded: their value is 0. The
backup averages the sampled discounted returns, so Q(s, a) estimates the
expectation over outcomes, and the action later chosen below an outcome may
depend on which outcome it was (unlike an open-loop tree over action
sequences). Outcomes with equal observations share a node, so the search
assumes the observation identifies the state; envs with continuous noise
would make every outcome a new node and keep the tree shallow.
"""

import types
from typing import Annotated, Any, Callable, Dict, List, Optional, Union

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.agents import leaf_raters
from alpacka.agents import planning_metrics
from alpacka.agents import sampled_model
from alpacka.agents import selection
from alpacka.utils import validation


class _ChanceNode:
    """An action taken in a decision node: its statistics and outcomes.

    Attributes:
        value_sum: The sum of the sampled discounted returns of the action,
            the leaf rater's estimate included.
        count: N(s, a): simulations that took the action (the rater's
            estimate is not one of them: it counts as the first of
            ``n(a) = 1 + count`` samples, see alpacka.agents.selection).
        outcomes: ``{outcome key: _Node}``: the outcomes sampled so far.
    """

    __slots__ = ('value_sum', 'count', 'outcomes')

    def __init__(self, estimate: float):
        self.value_sum = estimate
        self.count = 0
        self.outcomes = {}

    @property
    def value(self) -> float:
        """Q(s, a): the mean of the 1 + count sampled returns."""
        return self.value_sum / (1 + self.count)


class _Node:
    """A decision node.

    Attributes:
        done: The model's episode ended here; never expanded.
        actions: [n_actions] _ChanceNodes, None until expanded.
        n_visits: N(s) of the selection rules: the sum of the actions'
            ``n(a) = 1 + count`` (so the rater's estimates count).
        prior: [n_actions] probabilities for PUCT, or None for UCT.
    """

    __slots__ = ('done', 'actions', 'n_visits', 'prior')

    def __init__(self, done: bool):
        self.done = done
        self.actions = None
        self.n_visits = 0
        self.prior = None

    def expand(self, qualities: List[float],
               prior: Optional[List[float]]) -> None:
        """Creates the chance nodes from a leaf rater's estimates."""
        self.actions = [_ChanceNode(float(quality)) for quality in qualities]
        self.n_visits = len(qualities)
        self.prior = prior


def _outcome_key(observation: Any, done: bool) -> tuple:
    if isinstance(observation, np.ndarray):
        return observation.tobytes(), done
    return observation, done


@validation.configurable(module='alpacka.agents')
class StochasticMCTSAgent(base.OnlineAgent):
    """Monte Carlo tree search in a stochastic env, with the env as model.

    Each step runs ``n_passes`` simulations from the current state (see the
    module docs for the tree), then acts on the root's visit counts and
    restores the env exactly, its random generator included.

    Selection at a decision node (alpacka.agents.selection, with the
    identity Q scale): UCT ``Q(a) + c * sqrt(ln N / n(a))``, or with a prior
    P from the rater, PUCT ``Q(a) + c * P(a) * sqrt(N) / n(a)``, where Q(a)
    is the mean sampled return of action a, ``n(a) = 1 + N(s, a)`` its
    samples (the rater's estimate is the first) and N the sum of the n(a).

    agent_info per step: ``value`` (mean return of all simulations at the
    root, the search's V(s)), ``qualities`` [n_actions] (Q at the root),
    ``action_histogram`` [n_actions] (visit counts / their sum) and
    ``model_steps`` (env steps the search took).

    Args:
        n_passes: Simulations per step; the first one expands the root.
        discount: Per-step discount of the backup and the raters.
        exploration_weight: c, the weight of the exploration term of UCT /
            PUCT on Q in units of return (the identity Q scale).
        temperature: The action is drawn with probability proportional to
            n(a) ** (1 / temperature); 0 takes the most visited (ties: the
            best Q, then at random). In evaluation mode it is always 0.
        leaf_rater: A LeafRater, or a callable (a class bound in Gin) making
            one. Its network signature is the agent's.
        parameter_schedules: See Agent.
    """

    def __init__(
            self, n_passes: Annotated[int, validation.AtLeast(1)] = 100,
            discount: Annotated[float, validation.InRange(0, 1)] = 0.99,
            exploration_weight: Annotated[float, validation.AtLeast(0)] = 1.0,
            temperature: Annotated[float, validation.AtLeast(0)] = 0.0,
            leaf_rater: Union[leaf_raters.LeafRater, Callable] = (
                leaf_raters.RolloutLeafRater),
            parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        self.n_passes = n_passes
        self.discount = discount
        self.exploration_weight = exploration_weight
        self.temperature = temperature
        if not isinstance(leaf_rater, leaf_raters.LeafRater):
            leaf_rater = leaf_rater()
        self.leaf_rater = leaf_rater
        self._model = None

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space
                          ) -> Optional[data.NetworkSignature]:
        return self.leaf_rater.network_signature(observation_space,
                                                 action_space)

    def reset(self, env: gymnasium.Env, observation: Any) -> None:
        super().reset(env, observation)
        self._model = sampled_model.SampledModel(
            env, seed=int(self._rng.integers(2 ** 63)))

    def act(self, observation: Any) -> base.Coroutine:
        model = self._model
        steps_before = model.n_steps
        root = _Node(done=False)
        root_state = model.begin()
        try:
            for _ in range(self.n_passes):
                yield from self._simulate(root, root_state)
        finally:
            model.end(root_state)

        visit_counts = np.array([1 + chance.count for chance in root.actions],
                                dtype=np.float64)
        qualities = (np.array([chance.value_sum for chance in root.actions])
                     / visit_counts)
        histogram = visit_counts / visit_counts.sum()
        temperature = 0 if self.evaluation else self.temperature
        action = selection.choose_action(visit_counts, qualities, temperature,
                                         self._rng)
        return action + model.action_start, {
            'value': np.float32(sum(chance.value_sum
                                    for chance in root.actions)
                                / root.n_visits),
            'qualities': qualities.astype(np.float32),
            'action_histogram': histogram.astype(np.float32),
            'model_steps': model.n_steps - steps_before,
        }

    def _simulate(self, root: _Node, root_state: Any) -> base.Coroutine:
        """One simulation: select, sample, expand a leaf, back up."""
        model = self._model
        discount = self.discount
        observation = model.restore(root_state)
        node = root
        path = []
        while True:
            if node.done:
                leaf_value = 0.0
                break
            if node.actions is None:
                rating = self.leaf_rater.rate(observation, model, discount)
                if isinstance(rating, types.GeneratorType):
                    rating = yield from rating
                qualities, prior = rating
                node.expand(qualities, prior)
                leaf_value = max(chance.value_sum for chance in node.actions)
                break
            action = self._select(node)
            observation, reward, terminated, truncated, _ = model.step(action)
            chance = node.actions[action]
            path.append((node, chance, reward))
            done = bool(terminated or truncated)
            outcomes = chance.outcomes
            key = _outcome_key(observation, done)
            child = outcomes.get(key)
            if child is None:
                child = outcomes[key] = _Node(done)
            node = child

        value = leaf_value
        for node, chance, reward in reversed(path):
            value = reward + discount * value
            chance.value_sum += value
            chance.count += 1
            node.n_visits += 1

    def _select(self, node: _Node) -> int:
        """The action maximising UCT (or PUCT with the node's prior)."""
        index = selection.select_child(node.actions, node.n_visits,
                                       self.exploration_weight,
                                       selection.IDENTITY_Q_SCALE, node.prior)
        # None only if every score is NaN (a network's NaN estimates): the
        # first action, as this agent's own loop used to take.
        return 0 if index is None else index

    @staticmethod
    def compute_metrics(episodes: List[data.Episode]) -> Dict[str, float]:
        return planning_metrics.planning_metrics(episodes)
