"""Agent callbacks: hooks into an OnlineAgent's episodes (as in the original
Alpacka).

Bind them as ``OnlineAgent.callback_classes = [@SomeCallback]``: every
OnlineAgent (each subclass passes its base arguments up) builds one callback
per class, ``callback_class(agent)``, and calls its hooks from
``alpacka.agents.base.OnlineAgent``, where every episode runs: whole episodes
(``solve``) and step-based collection alike, training and evaluation
episodes alike. With no callbacks an agent does no extra work.

Hooks, in order:

* ``on_episode_begin(env, observation, epoch)``: after the env's reset and
  the agent's ``reset``, before the first ``act``;
* ``on_real_step(agent_info, action, observation, reward, done)``: after
  each step in the real env (``done``: the episode ended there, by
  termination, truncation or the episode time limit); the agent has not
  acted again yet, so its search state is still that of this step;
* ``on_episode_end()``: after the last ``on_real_step`` of the episode.
"""

from typing import Any, Optional

import gymnasium


class AgentCallback:
    """Base class of agent callbacks; each hook does nothing by default.

    Args:
        agent: The OnlineAgent whose episodes the callback follows (it may
            read the agent's public attributes: ``evaluation``,
            ``actor_index``, ``output_dir``, a planner's ``graph``, ...).
    """

    def __init__(self, agent: Any):
        self._agent = agent

    def on_episode_begin(self, env: gymnasium.Env, observation: Any,
                         epoch: Optional[int]) -> None:
        """An episode begins in env at observation (epoch: the Runner's)."""

    def on_real_step(self, agent_info: Any, action: Any, observation: Any,
                     reward: float, done: bool) -> None:
        """The agent took action in the real env, reaching observation."""

    def on_episode_end(self) -> None:
        """The episode has ended (after its last on_real_step)."""
