"""Q-learning agents: act on a Q-network's values with a policy or a mixture.

Each step yields the observation as a batch of one; the network (a QNetwork)
answers with Q values [1, n_actions], which the acting policy
(``alpacka.agents.q_policies``) turns into an action. In evaluation the
agents act greedily. Every step records in ``agent_info``:

* ``episode_id``: an id of the episode (int64), unique across the run's
  agents, so the Q-learning trainer can join an episode's stretches;
* ``policy``: the index of the policy that acted (-1: the random phase).
"""

from typing import (Annotated, Any, Callable, Dict, List, Literal, Optional,
                    Sequence, Union)

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.agents import q_policies
from alpacka.envs import spaces
from alpacka.utils import validation

RANDOM_PHASE = -1  # agent_info['policy'] during the random phase.


def q_network_signature(observation_space: gymnasium.Space,
                        action_space: gymnasium.Space,
                        agent_name: str) -> data.NetworkSignature:
    """Observations in, one Q value per action out.

    Raises:
        TypeError: the action space is not Discrete.
    """
    if not isinstance(action_space, gymnasium.spaces.Discrete):
        raise TypeError(
            f'{agent_name} learns Q values of discrete actions, but the env '
            f'has the action space {action_space}. For continuous actions use '
            f'alpacka.agents.SoftActorCriticAgent with SoftActorCriticNetwork '
            f'and SoftActorCriticTrainer.')
    return data.NetworkSignature(
        input=spaces.signature(observation_space),
        output=data.TensorSignature((spaces.n_actions(action_space),),
                                    np.float32))


class _QLearningAgent(base.OnlineAgent):
    """What both agents share: requests, the random phase, episode ids."""

    def __init__(self, n_random_steps: int,
                 parameter_schedules: Optional[Dict[str, Callable]]):
        super().__init__(parameter_schedules)
        self.n_random_steps = n_random_steps
        # Probability of a random action in evaluation (see QAgent).
        self.evaluation_epsilon = 0.0
        self._steps = 0  # Own training steps (without step-based collection).
        self._episode_id = 0
        self._policy_index = 0

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space
                          ) -> data.NetworkSignature:
        return q_network_signature(observation_space, action_space,
                                   type(self).__name__)

    def _run_steps(self) -> int:
        return self._steps if self.env_steps is None else self.env_steps

    def _context(self) -> q_policies.ActingContext:
        return q_policies.ActingContext(self._run_steps(), self.actor_index,
                                        self.n_actors)

    def reset(self, env: gymnasium.Env, observation: Any) -> None:
        super().reset(env, observation)
        # 62 random bits: ids of different agents (Ray workers, collectors)
        # do not collide in practice, and a seeded agent repeats its ids.
        self._episode_id = int(self._rng.integers(2 ** 62))
        self._policy_index = self._choose_policy_index()

    def _choose_policy_index(self) -> int:
        raise NotImplementedError

    def _policy(self, index: int) -> q_policies.ActingPolicy:
        raise NotImplementedError

    def act(self, observation: Any) -> base.Coroutine:
        q_values = yield np.asarray(observation)[np.newaxis]
        action, index = self._choose_action(q_values[0])
        return action, {'episode_id': np.int64(self._episode_id),
                        'policy': np.int64(index)}

    def _choose_action(self, q_values: np.ndarray) -> tuple:
        """(action, index of the policy that chose it) for one step's Q
        values [n_actions]: greedy in evaluation, else random in the random
        phase, else the episode's policy."""
        q_list = np.asarray(q_values, np.float64).tolist()
        if self.evaluation:
            index = 0
            if (self.evaluation_epsilon and
                    self._rng.random() < self.evaluation_epsilon):
                action = int(self._rng.integers(len(q_list)))
            else:
                action = q_policies.greedy_action(q_list, self._rng)
        else:
            index = self._policy_index
            if self._run_steps() < self.n_random_steps:
                index = RANDOM_PHASE
                action = int(self._rng.integers(len(q_list)))
            else:
                action = self._policy(index).choose(q_list, self._rng,
                                                    self._context())
            self._steps += 1
        return action, index

    def _policy_names(self) -> List[str]:
        raise NotImplementedError

    def compute_metrics(self, episodes: List[data.Episode]) -> Dict[str, float]:  # pylint: disable=arguments-differ
        """Return means and episode counts per acting policy.

        Keys ``policy/<name>/return_mean`` and ``policy/<name>/episodes``,
        name ``random`` for episodes begun in the random phase.
        """
        names = self._policy_names()
        returns: Dict[str, List[float]] = {}
        for episode in episodes:
            info = episode.transition_batch.agent_info
            if len(episode) == 0 or 'policy' not in info:
                continue
            index = int(np.asarray(info['policy'])[0])
            name = 'random' if index == RANDOM_PHASE else names[index]
            returns.setdefault(name, []).append(float(episode.return_))
        metrics = {}
        for name, values in returns.items():
            metrics[f'policy/{name}/return_mean'] = float(np.mean(values))
            metrics[f'policy/{name}/episodes'] = float(len(values))
        return metrics


@validation.configurable(module='alpacka.agents')
class QAgent(_QLearningAgent):
    """Acts with one policy on a QNetwork's values (greedy in evaluation).

    Args:
        policy: The acting policy (alpacka.agents.q_policies), e.g.
            ``@EpsilonGreedyPolicy()`` with a scheduled epsilon.
        n_random_steps: The run's first env steps (all envs together, read
            from ``env_steps`` in step-based collection; else the agent's
            own steps) act uniformly at random.
        parameter_schedules: See Agent.
        evaluation_epsilon: Probability of a random action in evaluation
            (0: greedy). Atari evaluations use 0.001 to 0.05, so that a
            greedy policy stuck waiting (Breakout after a lost life waits
            for FIRE) does not play out the time limit.
    """

    def __init__(self, policy: Optional[q_policies.ActingPolicy] = None,
                 n_random_steps: Annotated[int, validation.AtLeast(0)] = 0,
                 parameter_schedules: Optional[Dict[str, Callable]] = None,
                 evaluation_epsilon: Annotated[
                     float, validation.InRange(0, 1)] = 0.0):
        super().__init__(n_random_steps, parameter_schedules)
        self.policy = policy or q_policies.EpsilonGreedyPolicy()
        self.evaluation_epsilon = evaluation_epsilon

    def _choose_policy_index(self) -> int:
        return 0

    def _policy(self, index: int) -> q_policies.ActingPolicy:
        return self.policy

    def _policy_names(self) -> List[str]:
        return [self.policy.name]


# Mixture weights: a list, or a schedule fn(env_steps) -> list.
Weights = Union[Sequence[float], Callable[[int], Sequence[float]]]


def mixture_weights(weights: Optional[Weights], n_policies: int,
                    env_steps: int) -> np.ndarray:
    """The normalised weights at env_steps (uniform when None).

    Raises:
        ValueError: their number differs from the policies', or they are
            negative or all zero.
    """
    if weights is None:
        return np.full(n_policies, 1.0 / n_policies)
    values = np.asarray(weights(env_steps) if callable(weights) else weights,
                        np.float64)
    if values.shape != (n_policies,) or np.any(values < 0) or not values.sum() > 0:
        raise ValueError(
            f'PolicyMixtureAgent.weights must be {n_policies} non-negative '
            f'numbers, not all zero (one per policy); got {values.tolist()}.')
    return values / values.sum()


@validation.configurable(module='alpacka.agents')
class PolicyMixtureAgent(_QLearningAgent):
    """Acts with one of several policies, drawn per episode or per env.

    After a random phase of ``n_random_steps`` env steps, each episode (or,
    with ``assign='env'``, each env once for the whole run) draws the policy
    it acts with from ``weights``, which may follow a schedule of env steps.
    The acting policy's index is recorded as ``agent_info['policy']`` and
    metrics are reported per policy.

    Args:
        policies: The acting policies.
        weights: One weight per policy, or a schedule fn(env_steps) ->
            weights (e.g. ``@alpacka.utils.schedules.LinearSchedule()`` between two
            lists of weights);
            None: uniform.
        assign: 'episode' (draw at every episode start) or 'env' (draw once).
        n_random_steps: Env steps of uniformly random actions first.
        parameter_schedules: See Agent.
    """

    def __init__(self, policies: Sequence[q_policies.ActingPolicy] = (),
                 weights: Optional[Weights] = None,
                 assign: Literal['episode', 'env'] = 'episode',
                 n_random_steps: Annotated[int, validation.AtLeast(0)] = 0,
                 parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(n_random_steps, parameter_schedules)
        if not policies:
            raise ValueError(
                'PolicyMixtureAgent.policies is empty: give the acting '
                'policies, e.g. [@GreedyPolicy(), @EpsilonGreedyPolicy()].')
        self.policies = list(policies)
        self.weights = weights
        self.assign = assign
        self._assigned: Optional[int] = None
        if not callable(weights):
            mixture_weights(weights, len(self.policies), 0)  # Checked now.

    def _choose_policy_index(self) -> int:
        if self.assign == 'env' and self._assigned is not None:
            return self._assigned
        probabilities = mixture_weights(self.weights, len(self.policies),
                                        self._run_steps())
        index = int(self._rng.choice(len(self.policies), p=probabilities))
        if self.assign == 'env' and self._run_steps() >= self.n_random_steps:
            self._assigned = index
        return index

    def _policy(self, index: int) -> q_policies.ActingPolicy:
        return self.policies[index]

    def _policy_names(self) -> List[str]:
        return [f'{index}_{policy.name}'
                for index, policy in enumerate(self.policies)]
