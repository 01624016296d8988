"""Random-shooting model-predictive control with a perfect model."""

import copy
import functools
import math
from typing import Any, Callable, Dict, List, Optional

import gin
import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.agents import core
from alpacka.utils import seeding
from alpacka.utils import spaces


def truncated_return(episode: data.Episode, discount: float = 1.0) -> float:
    """Discounted sum of an episode's rewards, with nothing past its end.

    Args:
        episode: A rollout.
        discount: Per-step discount.

    Returns:
        The discounted return.
    """
    rewards = np.asarray(episode.transition_batch.reward, dtype=np.float64)
    if discount == 1.0:
        return float(rewards.sum())
    return float(np.dot(rewards, discount ** np.arange(len(rewards))))


# Registered without replacing the module's function: Gin's call wrapper
# costs ~12 us, too much for a function called once per rollout.
gin.external_configurable(truncated_return, module='alpacka.agents.shooting')


def _copy_env(env: gymnasium.Env) -> gymnasium.Env:
    return copy.deepcopy(env)


@gin.configurable(module='alpacka.agents')
class ShootingAgent(base.OnlineAgent):
    """Scores each action by rollouts from the current state, then acts greedily.

    At every step the agent clones the env's state and runs ``n_rollouts``
    episodes of ``agent_class`` from it (through a nested batch stepper over
    copies of the env), each at most ``rollout_time_limit`` steps. The score
    of an action is ``aggregate_fn`` over the estimated returns of the
    rollouts that began with it.

    Args:
        n_rollouts: Rollouts per step.
        rollout_time_limit: Maximum rollout length (None: until done).
        aggregate_fn: Reduces a list of returns to a score, e.g. np.mean.
        estimate_fn: ``fn(episode, discount) -> float`` estimating a
            rollout's return.
        discount: Discount used by estimate_fn.
        batch_stepper_class: Stepper that runs the rollouts (default
            LocalBatchStepper).
        agent_class: The rollout policy (default RandomAgent).
        n_envs: Rollouts run side by side by the nested stepper.
        parameter_schedules: See Agent.
    """

    def __init__(self, n_rollouts: int = 1000,
                 rollout_time_limit: Optional[int] = None,
                 aggregate_fn: Callable = np.mean,
                 estimate_fn: Callable = truncated_return,
                 discount: float = 1.0,
                 batch_stepper_class: Optional[Callable] = None,
                 agent_class: Callable = core.RandomAgent,
                 n_envs: int = 10,
                 parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        if n_rollouts < 1:
            raise ValueError(f'ShootingAgent.n_rollouts must be at least 1, '
                             f'got {n_rollouts}.')
        self.n_rollouts = n_rollouts
        self.rollout_time_limit = rollout_time_limit
        self._aggregate_fn = aggregate_fn
        self._estimate_fn = estimate_fn
        self._discount = discount
        self._batch_stepper_class = batch_stepper_class
        self._agent_class = agent_class
        self._n_envs = n_envs
        self._seed = None
        self._env = None
        self._batch_stepper = None

    def seed(self, seed: Optional[int]) -> None:
        super().seed(seed)
        self._seed = seed

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space) -> Any:
        return self._agent_class().network_signature(observation_space,
                                                     action_space)

    def reset(self, env: gymnasium.Env, observation: Any) -> None:
        super().reset(env, observation)
        spaces.n_actions(env.action_space)
        if env is not self._env:
            self.close()
            self._env = env

    def _stepper(self, network_fn: Callable) -> Any:
        if self._batch_stepper is None:
            stepper_class = self._batch_stepper_class
            if stepper_class is None:
                # Imported here: batch steppers depend on agents, not back.
                from alpacka.batch_steppers import local  # pylint: disable=import-outside-toplevel
                stepper_class = local.LocalBatchStepper
            self._batch_stepper = stepper_class(
                env_class=functools.partial(_copy_env, self._env),
                agent_class=self._agent_class,
                network_fn=network_fn,
                n_envs=self._n_envs,
                output_dir=None,
                seed=seeding.derive_seed(self._seed, 1),
            )
        return self._batch_stepper

    def act(self, observation: Any) -> base.Coroutine:
        network_fn, params = yield data.NetworkRequest()
        stepper = self._stepper(network_fn)
        root_state = self._env.clone_state()
        n_batches = math.ceil(self.n_rollouts / self._n_envs)
        episodes = []
        for _ in range(n_batches):
            episodes.extend(stepper.run_episode_batch(
                params, epoch=self._epoch, init_state=root_state,
                time_limit=self.rollout_time_limit))
        self._env.restore_state(root_state)

        returns_by_action = {}
        for episode in episodes:
            first_action = int(episode.transition_batch.action[0])
            returns_by_action.setdefault(first_action, []).append(
                self._estimate_fn(episode, self._discount))
        n_actions = self._env.action_space.n
        scores = np.full(n_actions, -np.inf)
        for action, returns in returns_by_action.items():
            scores[action - self._env.action_space.start] = self._aggregate_fn(
                returns)
        best = np.flatnonzero(scores == scores.max())
        action = int(self._rng.choice(best)) + int(self._env.action_space.start)
        all_returns = [r for returns in returns_by_action.values()
                       for r in returns]
        return action, {
            'value': float(np.mean(all_returns)),
            'action_scores': scores.astype(np.float32),
            'rollout_steps': sum(len(episode) for episode in episodes),
        }

    @staticmethod
    def compute_metrics(episodes: List[data.Episode]) -> Dict[str, float]:
        infos = [episode.transition_batch.agent_info for episode in episodes]
        values = np.concatenate([info['value'] for info in infos])
        rollout_steps = np.concatenate([info['rollout_steps'] for info in infos])
        return {'value_mean': float(values.mean()),
                'rollout_steps_per_step': float(rollout_steps.mean())}

    def close(self) -> None:
        if self._batch_stepper is not None:
            self._batch_stepper.close()
            self._batch_stepper = None
