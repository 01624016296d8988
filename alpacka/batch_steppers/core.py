"""The BatchStepper interface: runs a batch of episodes for given parameters."""

from typing import Any, Callable, Dict, List, Optional, Sequence

from alpacka import data


class BatchStepper:
    """Runs episodes of ``n_envs`` env-agent pairs side by side.

    Args:
        env_class: Zero-argument callable making an env.
        agent_class: Zero-argument callable making an agent.
        network_fn: Zero-argument callable making a network.
        n_envs: Number of env-agent pairs (episodes per batch).
        output_dir: Where the stepper may write (None: nowhere).
        seed: Base seed for the envs and agents (None: unseeded).
    """

    def __init__(self, env_class: Callable, agent_class: Callable,
                 network_fn: Callable, n_envs: int,
                 output_dir: Optional[str], seed: Optional[int] = None):
        if n_envs < 1:
            raise ValueError(f'n_envs must be at least 1, got {n_envs}.')
        self._env_class = env_class
        self._agent_class = agent_class
        self._network_fn = network_fn
        self._n_envs = n_envs
        self._output_dir = output_dir
        self._seed = seed

    @property
    def n_envs(self) -> int:
        """Number of episodes in one batch."""
        return self._n_envs

    def run_episode_batch(
            self, params: Any,
            batched_solve_kwargs: Optional[Dict[str, Sequence[Any]]] = None,
            **common_solve_kwargs) -> List[data.Episode]:
        """Plays one episode per env with the network set to params.

        Args:
            params: Network parameters for this batch.
            batched_solve_kwargs: ``{name: [value per env]}`` passed to each
                agent's solve().
            **common_solve_kwargs: Passed to every agent's solve() (e.g.
                epoch, init_state, time_limit).

        Returns:
            n_envs Episodes, in env order.
        """
        raise NotImplementedError

    def run_steps(self, params: Any, n_steps: int,
                  epoch: Optional[int] = None,
                  time_limit: Optional[int] = None,
                  env_steps: Optional[int] = None) -> data.StepBatch:
        """Takes n_steps steps in every env, continuing unfinished episodes.

        Step-based collection: episodes run on across calls (each call with
        the params it is given); an env whose episode ends starts the next
        one. Needs OnlineAgents, whose ``reset``/``act`` the stepper drives.

        Args:
            params: Network parameters for these steps.
            n_steps: Steps per env.
            epoch: The Runner's epoch (for parameter schedules of episodes
                starting in this call).
            time_limit: Maximum steps per episode.
            env_steps: The run's environment steps before this call; the
                agents see it as ``agent.env_steps``, advanced by n_envs
                each round.

        Returns:
            A StepBatch of the new transitions and of the episodes that ended.
        """
        raise NotImplementedError(
            f'{type(self).__name__} does not implement step-based collection '
            f'(run_steps); use LocalBatchStepper or RayBatchStepper, or leave '
            f'Runner.env_steps_per_epoch unset to gather whole episodes.')

    def close(self) -> None:
        """Releases workers and environments."""

    def _solve_kwargs(self, batched_solve_kwargs, common_solve_kwargs):
        """Per-env solve() kwargs merged from batched and common ones."""
        per_env = [dict(common_solve_kwargs) for _ in range(self._n_envs)]
        for name, values in (batched_solve_kwargs or {}).items():
            if len(values) != self._n_envs:
                raise ValueError(
                    f'batched_solve_kwargs[{name!r}] has {len(values)} '
                    f'values for {self._n_envs} envs.')
            for kwargs, value in zip(per_env, values):
                kwargs[name] = value
        return per_env
