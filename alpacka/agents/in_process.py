"""InProcessEpisodes: env-agent pairs whose episodes run side by side here.

The piece LocalBatchStepper and ShootingAgent's rollouts share: make and
seed ``n_envs`` env-agent pairs, then play one episode per pair in
lock-step, answering each round's prediction requests with one ``predict``
per group of compatible requests (requests.RequestHandler). Agents may
import it (batch steppers sit above agents and are not imported by them).
"""

from typing import Any, Callable, Dict, List, Optional, Sequence

from alpacka import data
from alpacka.agents import requests
from alpacka.utils import seeding


class InProcessEpisodes:
    """n_envs env-agent pairs in this process, with one request handler.

    Env i of a seeded batch is seeded as env ``first_env_index + i`` of the
    whole batch: its reset, its action space and its agent each get
    ``derive_seed(seed, index, k)`` with k from ``seeding.FromStepperSeed``.

    Args:
        env_class: Zero-argument callable making an env.
        agent_class: Zero-argument callable making an agent.
        network_fn: Zero-argument callable making the network (built on the
            first prediction request).
        n_envs: Number of env-agent pairs.
        seed: Base seed (None: unseeded).
        first_env_index: Index of the first pair in a larger batch.
        n_envs_in_batch: That batch's size (None: first_env_index +
            n_envs); each agent's actor_index and n_actors say where it is
            in it.
        output_dir: Each agent's output_dir (where it may write; None:
            nowhere).

    Attributes:
        envs, agents: The pairs, in order.
        request_handler: Answers the agents' requests.
    """

    def __init__(self, env_class: Callable, agent_class: Callable,
                 network_fn: Callable, n_envs: int,
                 seed: Optional[int] = None, first_env_index: int = 0,
                 n_envs_in_batch: Optional[int] = None,
                 output_dir: Optional[str] = None):
        if n_envs < 1:
            raise ValueError(f'n_envs must be at least 1, got {n_envs}.')
        self.envs = [env_class() for _ in range(n_envs)]
        self.agents = [agent_class() for _ in range(n_envs)]
        for index, agent in enumerate(self.agents, start=first_env_index):
            agent.actor_index = index
            agent.n_actors = n_envs_in_batch or first_env_index + n_envs
            agent.output_dir = output_dir
        if seed is not None:
            for index, (env, agent) in enumerate(zip(self.envs, self.agents),
                                                 start=first_env_index):
                env.reset(seed=seeding.derive_seed(
                    seed, index, seeding.FromStepperSeed.ENV_RESET))
                env.action_space.seed(seeding.derive_seed(
                    seed, index, seeding.FromStepperSeed.ACTION_SPACE))
                agent.seed(seeding.derive_seed(
                    seed, index, seeding.FromStepperSeed.AGENT))
        self.request_handler = requests.RequestHandler(network_fn)

    def run_episodes(self, params: Any,
                     kwargs_per_env: Sequence[Dict[str, Any]]
                     ) -> List[data.Episode]:
        """Plays one episode per pair with the network set to params.

        Args:
            params: Network parameters for these episodes.
            kwargs_per_env: Each agent's solve() kwargs (epoch, init_state,
                time_limit, ...), one dict per pair.

        Returns:
            The Episodes, in pair order.
        """
        self.request_handler.set_params(params)
        coroutines = [agent.solve(env, **kwargs) for env, agent, kwargs
                      in zip(self.envs, self.agents, kwargs_per_env)]
        return requests.run_coroutines(coroutines, self.request_handler)

    def run_episode_batch(self, params: Any,
                          **solve_kwargs) -> List[data.Episode]:
        """run_episodes with the same solve() kwargs for every pair (the
        call a BatchStepper offers too)."""
        return self.run_episodes(params, [dict(solve_kwargs)
                                          for _ in self.agents])

    def close(self) -> None:
        """Closes the agents and the envs."""
        for agent in self.agents:
            agent.close()
        for env in self.envs:
            env.close()
