"""EpisodeRecord: the steps of one episode, recorded as they happen."""

from typing import Any, List, Optional

import numpy as np

from alpacka import data


def stack_transitions(transitions: List[data.Transition]) -> data.Transition:
    """Stacks per-step Transitions into one Transition of [T, ...] arrays."""
    columns = list(zip(*transitions))
    infos = columns[5]
    return data.Transition(
        *(np.asarray(column) for column in columns[:5]),
        agent_info=data.nested_stack(list(infos)) if infos[0] else {},
        terminated=np.asarray(columns[6]),
        truncated=np.asarray(columns[7]))


class EpisodeRecord:
    """Records an episode step by step; builds its Transitions and Episode.

    Used by ``OnlineAgent.solve`` for whole episodes, and by step-based
    collection, where an episode may span several collection calls and its
    new transitions are taken out after each (``take_new_transitions``).

    Args:
        observation: The episode's first observation.
    """

    def __init__(self, observation: Any):
        self._observations = [observation]
        self._actions = []
        self._rewards = []
        self._terminateds = []
        self._infos = []
        self._last_env_info = {}
        self._taken = 0  # Steps already returned by take_new_transitions.
        self.terminated = False
        self.truncated = False

    def __len__(self) -> int:
        return len(self._actions)

    @property
    def observation(self) -> Any:
        """The latest observation (the one to act on next)."""
        return self._observations[-1]

    @property
    def ended(self) -> bool:
        """Whether the episode terminated or was truncated."""
        return self.terminated or self.truncated

    def add(self, action: Any, agent_info: Any, outcome: tuple,
            time_limit: Optional[int] = None) -> None:
        """Records one step.

        Args:
            action: The action taken.
            agent_info: The agent's dict of per-step values.
            outcome: What ``env.step(action)`` returned.
            time_limit: Truncate the episode once it has this many steps.
        """
        observation, reward, terminated, truncated, info = outcome
        self._observations.append(observation)
        self._actions.append(action)
        self._rewards.append(reward)
        self._terminateds.append(terminated)
        self._infos.append(agent_info)
        self._last_env_info = info
        self.terminated = bool(terminated)
        self.truncated = bool(truncated) or (
            time_limit is not None and len(self._actions) >= time_limit)

    def transitions(self, start: int = 0) -> data.Transition:
        """The steps from ``start`` on, stacked into one Transition.

        Only the episode's last step can be truncated.
        """
        stop = len(self._actions)
        truncated = np.zeros(stop - start, bool)
        if self.truncated and stop > start:
            truncated[-1] = True
        observations = np.asarray(self._observations[start:])
        terminated = np.asarray(self._terminateds[start:], bool)
        infos = self._infos[start:]
        return data.Transition(
            observation=observations[:-1],
            action=np.asarray(self._actions[start:]),
            reward=np.asarray(self._rewards[start:]),
            done=terminated | truncated,
            next_observation=observations[1:],
            agent_info=data.nested_stack(infos) if infos and infos[0] else {},
            terminated=terminated,
            truncated=truncated)

    def take_new_transitions(self) -> data.Transition:
        """The steps recorded since the previous call, stacked."""
        start, self._taken = self._taken, len(self._actions)
        return self.transitions(start)

    def episode(self, agent: Any = None) -> data.Episode:
        """The whole episode.

        Args:
            agent: If its ``postprocess_transitions`` is overridden (see
                OnlineAgent), the transitions pass through it before being
                stacked.
        """
        if agent is not None and agent.overrides_postprocessing():
            batch = self.transitions()
            per_step = [data.Transition(*fields) for fields in zip(
                self._observations[:-1], self._actions, self._rewards,
                batch.done.tolist(), self._observations[1:], self._infos,
                self._terminateds, batch.truncated.tolist())]
            batch = stack_transitions(agent.postprocess_transitions(per_step))
        else:
            batch = self.transitions()
        return data.Episode(
            transition_batch=batch,
            return_=float(sum(self._rewards)),
            solved=self._last_env_info.get('solved'),
            truncated=self.truncated and not self.terminated)
