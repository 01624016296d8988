"""Shared by the metric_logging tests: a tiny run and an agent that logs.

Ray workers unpickle LoggingAgent by module name, so it lives in a module of
its own (the stepper hands workers the driver's sys.path, which holds this
folder) rather than in a test module.
"""

import os
from typing import Any, Optional

import gymnasium

from alpacka import agents
from alpacka import metric_logging

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# Gin config of a run of a few seconds: 2 epochs of 2 random CartPole episodes.
TINY_RUN = """
Runner.env_class = @alpacka.envs.CartPole
Runner.agent_class = @alpacka.agents.RandomAgent
Runner.n_envs = 2
Runner.episode_time_limit = 10
Runner.n_epochs = 2
Runner.seed = 0
"""


class LoggingAgent(agents.RandomAgent):
    """RandomAgent that logs its process id as ``worker/pid`` in solve()."""

    def solve(self, env: gymnasium.Env, epoch: Optional[int] = None,
              init_state: Any = None, time_limit: Optional[int] = None):
        metric_logging.log_scalar('worker/pid', epoch or 0, os.getpid())
        metric_logging.log_property('worker/note', f'solved in {os.getpid()}')
        return (yield from super().solve(env, epoch, init_state, time_limit))
