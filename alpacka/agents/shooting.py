"""Shooting: model-predictive control by rollouts from the current state.

In a Discrete action space the rollouts are episodes of any agent (random,
or a policy network's) run side by side in this process on copies of the env
(in_process.InProcessEpisodes, or a batch stepper a config names);
each action is scored by ``aggregate_fn`` over the estimated returns of the
rollouts that began with it. In a Box action space the agent does random
shooting over open-loop action sequences, played directly on the env (the
perfect model), and takes the first action of the best one.

Returns are estimated by ``estimate_fn(episode, discount)``. An estimate_fn
with a ``final_value`` parameter (``bootstrap_return``) bootstraps from a
value network: the agent asks for V of the rollouts' final observations in one
batched request per step and passes each rollout its value.

Network: with ``truncated_return`` the agent needs whatever network its
rollout agent needs (none for RandomAgent). With bootstrapping, one network
serves both, with output ``{'value': [1], 'policy': <rollout agent's
output>}`` (just ``{'value': [1]}`` when the rollout agent needs no network);
the rollout agents see only the ``'policy'`` head. Train the value head with
e.g. ``SupervisedTrainer.target = {'value': ..., 'policy': ...}``.
"""

import copy
import functools
import inspect
import math
from typing import Annotated, Any, Callable, Dict, List, Optional

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.agents import core
from alpacka.agents import in_process
from alpacka.agents import planning_metrics
from alpacka.agents import sequences
from alpacka.utils import seeding
from alpacka.envs import spaces
from alpacka.utils import validation


def truncated_return(
        episode: data.Episode,
        discount: Annotated[float, validation.InRange(0, 1)] = 1.0) -> float:
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


def bootstrap_return(
        episode: data.Episode,
        discount: Annotated[float, validation.InRange(0, 1)] = 1.0,
        final_value: float = 0.0) -> float:
    """Discounted return plus the discounted value of where the rollout stopped.

    ``sum_t discount^t r_t + discount^T * final_value`` for a rollout of T
    steps cut short by a time limit; a rollout that terminated has no future,
    so its estimate is the truncated return alone.

    Args:
        episode: A rollout.
        discount: Per-step discount.
        final_value: V(last next_observation), e.g. from a value network.

    Returns:
        The bootstrapped return.
    """
    batch = episode.transition_batch
    terminated = (bool(batch.terminated[-1]) if batch.terminated is not None
                  else not episode.truncated)
    estimate = truncated_return(episode, discount)
    if terminated:
        return estimate
    return estimate + discount ** len(episode) * float(final_value)


# Registered without replacing the module's functions: Gin's call wrapper
# costs ~12 us, too much for a function called once per rollout.
# Their bindings are checked at start-up (validation.check_bindings).
validation.external_configurable(truncated_return,
                                 module='alpacka.agents.shooting')
validation.external_configurable(bootstrap_return,
                                 module='alpacka.agents.shooting')


def _wants_final_value(estimate_fn: Callable) -> bool:
    """Whether estimate_fn takes a ``final_value`` (bootstraps from V)."""
    try:
        return 'final_value' in inspect.signature(estimate_fn).parameters
    except (TypeError, ValueError):  # No signature to read: a builtin.
        return False


def _own_estimate(estimate_fn: Callable) -> Optional[Callable]:
    """This module's estimate function behind estimate_fn, or None.

    Gin hands configs' ``@alpacka.agents.shooting.truncated_return`` over
    wrapped; the agent passes every argument itself, so the bare function
    does the same work without the wrapper's cost per rollout.
    """
    unwrapped = inspect.unwrap(estimate_fn)
    return (unwrapped if unwrapped in (truncated_return, bootstrap_return)
            else None)


def _copy_env(env: gymnasium.Env) -> gymnasium.Env:
    return copy.deepcopy(env)


class _PolicyHead:
    """What rollout agents see of a network with 'value' and 'policy' heads.

    The rollouts' request handling uses only ``predict`` and ``params`` of
    its network.

    Args:
        network_fn: Makes the shared network.
    """

    def __init__(self, network_fn: Callable):
        self._network = network_fn()

    def predict(self, inputs: Any) -> Any:
        """The 'policy' head of the shared network's prediction."""
        return self._network.predict(inputs)['policy']

    @property
    def params(self) -> Any:
        """The shared network's parameters."""
        return self._network.params

    @params.setter
    def params(self, new_params: Any) -> None:
        self._network.params = new_params


@validation.configurable(module='alpacka.agents')
class ShootingAgent(base.OnlineAgent):
    """Plans each step by rollouts from the current state, then acts greedily.

    Discrete actions: at every step the agent clones the env's state and runs
    ``n_rollouts`` episodes of ``agent_class`` from it (side by side over
    copies of the env, ``n_envs`` at a time, so n_rollouts is rounded up to a
    multiple of n_envs), each at most ``rollout_time_limit``
    steps. The score of an action is ``aggregate_fn`` over the estimated
    returns of the rollouts that began with it; the best-scored action is
    taken (ties broken at random). agent_info: ``value`` (mean estimate over
    all rollouts), ``action_scores`` [n_actions], ``model_steps`` (env steps of
    the rollouts).

    Box actions: random shooting. ``n_rollouts`` sequences of
    ``rollout_time_limit`` actions, uniform within the action bounds, are
    played from the cloned state on the env itself; the agent takes the first
    action of the sequence with the highest discounted return (plus the
    bootstrapped value of its final observation, with bootstrap_return).
    agent_info: ``value`` (that best estimate), ``model_steps``.

    In both cases the env is back in its state from before ``act`` when
    ``act`` returns. Planning is the same in evaluation mode: it is already
    greedy.

    Args:
        n_rollouts: Rollouts (action sequences, in Box spaces) per step.
        rollout_time_limit: Maximum rollout length (None: until done); the
            horizon of action sequences in Box spaces (required there).
        aggregate_fn: Reduces an array of rollout estimates to an action's
            score, e.g. np.mean or np.max (Discrete only).
        estimate_fn: ``fn(episode, discount) -> float`` estimating a
            rollout's return: truncated_return, or bootstrap_return (asks the
            network for values; see the module's doc). Box spaces accept only
            these two.
        discount: Discount of the return estimates.
        batch_stepper_class: Stepper that runs the rollouts (Discrete
            only). The default, None, runs them in this process exactly as a
            LocalBatchStepper would (in_process.InProcessEpisodes); a config
            may name a stepper class, e.g. LocalBatchStepper.
        agent_class: The rollout policy (default RandomAgent; Discrete only).
        n_envs: Rollouts run side by side.
        parameter_schedules: See Agent.
    """

    def __init__(
            self, n_rollouts: Annotated[int, validation.AtLeast(1)] = 1000,
            rollout_time_limit: Annotated[
                Optional[int], validation.AtLeast(1)] = None,
            aggregate_fn: Callable = np.mean,
            estimate_fn: Callable = truncated_return,
            discount: Annotated[float, validation.InRange(0, 1)] = 1.0,
            batch_stepper_class: Optional[Callable] = None,
            agent_class: Callable = core.RandomAgent,
            n_envs: Annotated[int, validation.AtLeast(1)] = 10,
            parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        self.n_rollouts = n_rollouts
        self.rollout_time_limit = rollout_time_limit
        self._aggregate_fn = aggregate_fn
        self._bootstrap = _wants_final_value(estimate_fn)
        self._own_estimate = _own_estimate(estimate_fn)
        self._estimate_fn = self._own_estimate or estimate_fn
        self._discount = discount
        self._batch_stepper_class = batch_stepper_class
        self._agent_class = agent_class
        self._n_envs = n_envs
        self._seed = None
        self._env = None
        self._bounds = None
        self._batch_stepper = None

    def seed(self, seed: Optional[int]) -> None:
        super().seed(seed)
        self._seed = seed

    def network_signature(self, observation_space: gymnasium.Space,
                          action_space: gymnasium.Space
                          ) -> Optional[data.NetworkSignature]:
        rollout_signature = None
        if isinstance(action_space, gymnasium.spaces.Discrete):
            rollout_signature = self._agent_class().network_signature(
                observation_space, action_space)
        if not self._bootstrap:
            return rollout_signature
        output = {'value': data.TensorSignature(shape=(1,), dtype=np.float32)}
        if rollout_signature is None:
            return data.NetworkSignature(
                input=spaces.signature(observation_space), output=output)
        output['policy'] = rollout_signature.output
        return data.NetworkSignature(input=rollout_signature.input,
                                     output=output)

    def reset(self, env: gymnasium.Env, observation: Any) -> None:
        super().reset(env, observation)
        space = env.action_space
        if isinstance(space, gymnasium.spaces.Box):
            self._bounds = sequences.box_bounds(space)
            if self.rollout_time_limit is None:
                raise ValueError(
                    'In a Box action space ShootingAgent plays action '
                    'sequences of rollout_time_limit steps; set '
                    'ShootingAgent.rollout_time_limit (e.g. 30).')
            if self._own_estimate is None:
                raise ValueError(
                    'In a Box action space ShootingAgent scores action '
                    'sequences by their discounted return itself; '
                    'estimate_fn must be truncated_return or '
                    'bootstrap_return.')
        elif isinstance(space, gymnasium.spaces.Discrete):
            self._bounds = None
        else:
            raise TypeError(f'ShootingAgent plans in Discrete or Box action '
                            f'spaces, got {space}.')
        if env is not self._env:
            self.close()
            self._env = env

    def _stepper(self, network_fn: Callable) -> Any:
        """What runs the rollouts: batch_stepper_class if a config gives
        one, else InProcessEpisodes (the pairs LocalBatchStepper runs, with
        the same seeding: agents do not import batch steppers)."""
        if self._batch_stepper is None:
            if self._bootstrap:
                network_fn = functools.partial(_PolicyHead, network_fn)
            env_class = functools.partial(_copy_env, self._env)
            seed = seeding.derive_seed(
                self._seed, seeding.FromAgentSeed.SHOOTING_ROLLOUTS)
            if self._batch_stepper_class is None:
                self._batch_stepper = in_process.InProcessEpisodes(
                    env_class, self._agent_class, network_fn, self._n_envs,
                    seed=seed)
            else:
                self._batch_stepper = self._batch_stepper_class(
                    env_class=env_class,
                    agent_class=self._agent_class,
                    network_fn=network_fn,
                    n_envs=self._n_envs,
                    output_dir=None,
                    seed=seed,
                )
        return self._batch_stepper

    @staticmethod
    def _final_values(final_observations: List[Any]) -> base.Coroutine:
        """V of the observations: one batched request; returns [N] float64."""
        if not final_observations:
            return np.zeros(0)
        prediction = yield np.stack(final_observations)
        return np.asarray(prediction['value'], dtype=np.float64).reshape(
            len(final_observations))

    def act(self, observation: Any) -> base.Coroutine:
        if self._bounds is not None:
            return (yield from self._act_box())
        return (yield from self._act_discrete())

    def _act_discrete(self) -> base.Coroutine:
        network_fn, params = yield data.NetworkRequest()
        stepper = self._stepper(network_fn)
        root_state = self._env.clone_state()
        episodes = []
        for _ in range(math.ceil(self.n_rollouts / self._n_envs)):
            episodes.extend(stepper.run_episode_batch(
                params, epoch=self._epoch, init_state=root_state,
                time_limit=self.rollout_time_limit))
        self._env.restore_state(root_state)

        if self._bootstrap:
            is_open = np.array([not episode.transition_batch.terminated[-1]
                                for episode in episodes])
            final_values = np.zeros(len(episodes))
            final_values[is_open] = yield from self._final_values(
                [episode.transition_batch.next_observation[-1]
                 for episode, open_ in zip(episodes, is_open) if open_])
            estimates = np.array([
                self._estimate_fn(episode, self._discount, final_value=value)
                for episode, value in zip(episodes, final_values)])
        else:
            estimates = np.array([self._estimate_fn(episode, self._discount)
                                  for episode in episodes])

        space = self._env.action_space
        first_actions = np.array([episode.transition_batch.action[0]
                                  for episode in episodes]) - int(space.start)
        scores = np.full(int(space.n), -np.inf)
        for action in np.unique(first_actions):
            scores[action] = self._aggregate_fn(
                estimates[first_actions == action])
        best = np.flatnonzero(scores == scores.max())
        action = int(self._rng.choice(best)) + int(space.start)
        return action, {
            'value': float(np.mean(estimates)),
            'action_scores': scores.astype(np.float32),
            'model_steps': sum(len(episode) for episode in episodes),
        }

    def _act_box(self) -> base.Coroutine:
        low, high = self._bounds
        space = self._env.action_space
        action_sequences = self._rng.uniform(
            low, high, size=(self.n_rollouts, self.rollout_time_limit) +
            low.shape).astype(space.dtype)
        root_state = self._env.clone_state()
        rollouts = sequences.rollout_sequences(
            self._env, root_state, action_sequences, self._discount)
        estimates = rollouts.returns
        if self._bootstrap:
            is_open = ~rollouts.terminated
            final_values = np.zeros(len(estimates))
            final_values[is_open] = yield from self._final_values(
                [observation for observation, open_ in
                 zip(rollouts.final_observations, is_open) if open_])
            estimates = estimates + (self._discount ** rollouts.lengths *
                                     final_values)
        best = int(np.argmax(estimates))
        return action_sequences[best, 0], {
            'value': float(estimates[best]),
            'model_steps': int(rollouts.lengths.sum()),
        }

    @staticmethod
    def compute_metrics(episodes: List[data.Episode]) -> Dict[str, float]:
        return planning_metrics.planning_metrics(episodes)

    def close(self) -> None:
        if self._batch_stepper is not None:
            self._batch_stepper.close()
            self._batch_stepper = None
