"""Step-based collection: env-agent pairs advanced a fixed number of steps.

Whole-episode collection (``Agent.solve``) cannot stop mid-episode. Off-policy
learners want a fixed number of environment steps between updates instead,
so the StepCollector drives OnlineAgents' ``start_episode``/``step`` itself,
keeping each env's unfinished episode between calls.
"""

from typing import Any, List, Optional, Sequence

from alpacka.agents import base as agent_base
from alpacka.agents import episode_record
from alpacka import data
from alpacka.agents import requests


def check_step_agents(agent_list: Sequence[Any]) -> None:
    """Raises TypeError unless the agents can be driven step by step.

    Step-based collection needs OnlineAgents whose episodes are plain
    ``reset``/``act`` loops: it bypasses ``solve``, and sends the raw
    transitions to the trainer, so a ``postprocess_transitions`` (which sees
    whole episodes) cannot be honoured.
    """
    for agent in agent_list:
        if (not isinstance(agent, agent_base.OnlineAgent) or
                type(agent).solve is not agent_base.OnlineAgent.solve):
            raise TypeError(
                f'Step-based collection (Runner.env_steps_per_epoch) needs '
                f'an OnlineAgent that acts step by step; '
                f'{type(agent).__name__} plays whole episodes in its own '
                f'solve(). '
                f'Leave Runner.env_steps_per_epoch unset.')
        if agent.overrides_postprocessing():
            raise TypeError(
                f'{type(agent).__name__} overrides postprocess_transitions, '
                f'which rewrites whole episodes; step-based collection '
                f'(Runner.env_steps_per_epoch) hands transitions to the '
                f'trainer as they happen. Leave Runner.env_steps_per_epoch '
                f'unset.')


class StepCollector:
    """Advances env-agent pairs step by step, batching their requests.

    An env with an ``on_episode_start(env_steps)`` method is told the run's
    global env step (``agent.env_steps``) before each of its episodes
    starts (envs.CurriculumWrapper switches its params there).

    Args:
        env_list: The envs.
        agent_list: One OnlineAgent per env.
        steps_per_round: How far ``agent.env_steps`` advances per round: the
            number of envs in the whole batch, of which these may be a share
            (None: len(env_list)).
    """

    def __init__(self, env_list: Sequence[Any], agent_list: Sequence[Any],
                 steps_per_round: Optional[int] = None):
        check_step_agents(agent_list)
        self._steps_per_round = steps_per_round or len(env_list)
        self._envs = list(env_list)
        self._agents = list(agent_list)
        # Each env's unfinished episode; None: the next step starts one.
        self._records: List[Optional[episode_record.EpisodeRecord]] = [None] * len(
            self._envs)

    def _advance(self, index: int, epoch: Optional[int],
                 time_limit: Optional[int], finished: list) -> agent_base.Coroutine:
        """One step of env ``index`` (starting an episode first if needed)."""
        env, agent = self._envs[index], self._agents[index]
        record = self._records[index]
        if record is None:
            # Duck-typed hook: envs that depend on the run's step count (a
            # CurriculumWrapper) learn the global step of each episode start.
            on_episode_start = getattr(env, 'on_episode_start', None)
            if on_episode_start is not None:
                on_episode_start(agent.env_steps)
            observation = yield from agent.start_episode(env, epoch)
            record = self._records[index] = episode_record.EpisodeRecord(observation)
        action, agent_info, outcome = yield from agent.step(
            env, record.observation)
        agent.record_step(record, action, agent_info, outcome, time_limit)
        if record.ended:
            finished.append((index, record))
            self._records[index] = None

    def collect(self, request_handler: requests.RequestHandler, n_steps: int,
                epoch: Optional[int] = None, time_limit: Optional[int] = None,
                env_steps: Optional[int] = None) -> data.StepBatch:
        """Takes n_steps steps in every env (see BatchStepper.run_steps)."""
        transition_batches, episodes = [], []
        for round_index in range(n_steps):
            for agent in self._agents:
                agent.env_steps = (
                    None if env_steps is None else
                    env_steps + round_index * self._steps_per_round)
            finished = []
            requests.run_coroutines(
                [self._advance(index, epoch, time_limit, finished)
                 for index in range(len(self._envs))], request_handler)
            for index, record in sorted(finished, key=lambda item: item[0]):
                transition_batches.append(record.take_new_transitions())
                episodes.append(record.episode(self._agents[index]))
        for record in self._records:
            if record is not None and len(record):
                transition_batches.append(record.take_new_transitions())
        return data.StepBatch(transition_batches=transition_batches,
                              episodes=episodes,
                              n_steps=n_steps * len(self._envs))
