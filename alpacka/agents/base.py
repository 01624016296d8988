"""Agent base classes and the coroutine protocol.

``Agent.solve(env, ...)`` is a generator. It yields requests and returns an
Episode. A request is either a nested structure of arrays with a leading batch
dimension (answered with the network's prediction for it) or a
``data.NetworkRequest()`` (answered with ``(network_fn, params)``). Agents
never call a network themselves, so a batch stepper can batch the requests of
many agents into one network call.
"""

import types
from typing import (Any, Callable, Dict, Generator, Hashable, List, Optional,
                    Sequence)

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents.episode_record import EpisodeRecord
from alpacka.utils import validation

# What solve() and friends are: generators that yield requests.
Coroutine = Generator[Any, Any, Any]


def _set_attribute_path(obj: Any, path: str, value: Any) -> None:
    *parents, name = path.split('.')
    for parent in parents:
        obj = getattr(obj, parent)
    if not hasattr(obj, name):
        raise AttributeError(
            f'Parameter schedule path {path!r} does not name an attribute of '
            f'{type(obj).__name__}.')
    setattr(obj, name, value)


def maybe_coroutine(result: Any) -> Coroutine:
    """Runs ``result`` as a coroutine if it is one; otherwise returns it.

    Lets a hook be either a generator function (that yields requests) or a
    plain method: ``value = yield from maybe_coroutine(self.act(obs))``.
    """
    if isinstance(result, types.GeneratorType):
        return (yield from result)
    return result


class Agent:
    """Base class of agents.

    Attributes:
        evaluation: When True, the agent plays to be measured, not to learn:
            no exploration noise, no random actions, greedy choices. Set by
            evaluation callbacks; False by default.
        env_steps: Environment steps the run had taken (all envs together)
            when the current batch of steps began; set by batch steppers in
            step-based collection (``run_steps``), None otherwise.
        actor_index: This agent's env's index in the whole batch of envs
            (across Ray workers), and n_actors that batch's size; set by
            batch steppers (per-actor exploration, e.g. Ape-X epsilons).

    Args:
        parameter_schedules: ``{'attribute.path': fn(epoch)}``; before each
            episode, each attribute is set to ``fn(epoch)``.
    """

    def __init__(self, parameter_schedules: Optional[Dict[str, Callable]] = None):
        self._parameter_schedules = dict(parameter_schedules or {})
        self._rng = np.random.default_rng()
        self.evaluation = False
        self.env_steps: Optional[int] = None
        self.actor_index = 0
        self.n_actors = 1
        self.output_dir: Optional[str] = None

    def seed(self, seed: Optional[int]) -> None:
        """Reseeds the agent's random generator (self._rng).

        Args:
            seed: The seed, or None for fresh entropy.
        """
        self._rng = np.random.default_rng(seed)

    def _apply_schedules(self, epoch: Optional[int]) -> None:
        if epoch is None:
            return
        for path, schedule in self._parameter_schedules.items():
            _set_attribute_path(self, path, schedule(epoch))

    def solve(self, env: gymnasium.Env, epoch: Optional[int] = None,
              init_state: Optional[Hashable] = None,
              time_limit: Optional[int] = None) -> Coroutine:
        """Plays one episode. A generator: yields requests, returns Episode.

        Args:
            env: The environment.
            epoch: The Runner's epoch (for parameter schedules).
            init_state: If given, the episode starts from this cloned state
                (``env.restore_state``) instead of ``env.reset()``.
            time_limit: Maximum number of steps; the episode is truncated
                after that many.

        Returns:
            The Episode (as the generator's return value).
        """
        raise NotImplementedError

    def network_signature(
            self, observation_space: gymnasium.Space,
            action_space: gymnasium.Space) -> Optional[data.NetworkSignature]:
        """The signature of the network this agent needs, or None.

        Args:
            observation_space: The env's observation space.
            action_space: The env's action space.

        Returns:
            A NetworkSignature, or None if the agent uses no network.
        """
        del observation_space, action_space

    @staticmethod
    def compute_metrics(episodes: List[data.Episode]) -> Dict[str, float]:
        """Agent-specific metrics over a batch of episodes (logged as agent/*)."""
        del episodes
        return {}

    def close(self) -> None:
        """Releases what the agent holds (e.g. nested batch steppers)."""


@validation.configurable(module='alpacka.agents')
class OnlineAgent(Agent):
    """An agent that decides step by step: ``reset`` then ``act`` per step.

    ``reset(env, observation)`` and ``act(observation)`` may be generator
    methods that yield requests, or plain methods; ``act`` returns
    ``(action, agent_info)`` where agent_info is a dict of per-step values.

    Args:
        parameter_schedules: See Agent.
        callback_classes: Agent callbacks (``alpacka.agents.callbacks``),
            each called as ``callback_class(agent)``; their hooks are called
            in every episode, from start_episode and record_step. Subclasses
            pass it up with their other base arguments, so Gin's
            ``OnlineAgent.callback_classes`` reaches every OnlineAgent (the
            rollout agents of a ShootingAgent too).
    """

    def __init__(self, parameter_schedules: Optional[Dict[str, Callable]] = None,
                 callback_classes: Sequence[Callable] = ()):
        super().__init__(parameter_schedules)
        self._action_space = None
        self._epoch = None
        self._callbacks = [callback_class(self)
                           for callback_class in callback_classes]

    @property
    def callbacks(self) -> List[Any]:
        """The agent's callbacks, in the order of callback_classes."""
        return list(self._callbacks)

    def reset(self, env: gymnasium.Env, observation: Any) -> Optional[Coroutine]:
        """Prepares for an episode in env, starting at observation."""
        del observation
        self._action_space = env.action_space

    def act(self, observation: Any) -> Any:
        """Chooses an action: returns (or, as a generator, yields requests and
        returns) ``(action, agent_info)``."""
        raise NotImplementedError

    def postprocess_transitions(
            self, transitions: List[data.Transition]) -> List[data.Transition]:
        """Hook to rewrite an episode's transitions before they are stacked."""
        return transitions

    def overrides_postprocessing(self) -> bool:
        """Whether this agent rewrites transitions in postprocess_transitions."""
        return (type(self).postprocess_transitions is not
                OnlineAgent.postprocess_transitions)

    def start_episode(self, env: gymnasium.Env, epoch: Optional[int] = None,
                      init_state: Optional[Hashable] = None) -> Coroutine:
        """Begins an episode: schedules, env reset, then ``reset``.

        A generator (``reset`` may yield requests) returning the first
        observation. solve() and step-based collection both begin here.

        Args:
            env: The environment.
            epoch: The Runner's epoch (for parameter schedules).
            init_state: Start from this cloned state instead of a reset.
        """
        self._epoch = epoch
        self._apply_schedules(epoch)
        if init_state is None:
            observation, _ = env.reset()
        else:
            observation = env.restore_state(init_state)
        yield from maybe_coroutine(self.reset(env, observation))
        for callback in self._callbacks:
            callback.on_episode_begin(env, observation, epoch)
        return observation

    def step(self, env: gymnasium.Env, observation: Any) -> Coroutine:
        """Acts once and steps the env. A generator (``act`` may yield).

        Returns:
            ``(action, agent_info, (next_observation, reward, terminated,
            truncated, info))``.
        """
        result = self.act(observation)
        if isinstance(result, types.GeneratorType):
            result = yield from result
        action, agent_info = result
        return action, agent_info, env.step(action)

    def record_step(self, record: EpisodeRecord, action: Any,
                    agent_info: Any, outcome: tuple,
                    time_limit: Optional[int] = None) -> None:
        """Adds a step (what step() returned) to record, telling callbacks.

        solve() and step-based collection both record steps here, so the
        callbacks' ``done`` is the record's: termination, truncation or the
        time limit.

        Args:
            record: The episode's EpisodeRecord.
            action, agent_info, outcome: As returned by step().
            time_limit: The episode's step limit (see EpisodeRecord.add).
        """
        record.add(action, agent_info, outcome, time_limit)
        if not self._callbacks:
            return
        observation, reward = outcome[0], outcome[1]
        for callback in self._callbacks:
            callback.on_real_step(agent_info, action, observation, reward,
                                  record.ended)
        if record.ended:
            for callback in self._callbacks:
                callback.on_episode_end()

    def solve(self, env: gymnasium.Env, epoch: Optional[int] = None,
              init_state: Optional[Hashable] = None,
              time_limit: Optional[int] = None) -> Coroutine:
        observation = yield from self.start_episode(env, epoch, init_state)
        record = EpisodeRecord(observation)
        while not record.ended:
            action, agent_info, outcome = yield from self.step(
                env, record.observation)
            self.record_step(record, action, agent_info, outcome, time_limit)
        return record.episode(self)
