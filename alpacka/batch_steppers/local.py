"""LocalBatchStepper: all agents in one process, their requests batched."""

from typing import Annotated, Any, Callable, Dict, List, Optional, Sequence


from alpacka import data
from alpacka.agents import in_process
from alpacka.batch_steppers import core
from alpacka.batch_steppers import step_collection
from alpacka.utils import validation


@validation.configurable(module='alpacka.batch_steppers')
class LocalBatchStepper(core.BatchStepper):
    """Runs all env-agent pairs in this process.

    In each round every unfinished agent runs until its next request; all
    prediction requests of the round go to the network in one ``predict``
    call per group of compatible shapes. The pairs, their seeding and the
    lock-step episodes are agents.in_process.InProcessEpisodes (which agents
    running nested episodes use too); this class adds the BatchStepper
    interface and step-based collection.

    Args:
        env_class, agent_class, network_fn, n_envs, output_dir, seed: See
            BatchStepper.
        first_env_index: Index of this stepper's first env in a larger batch
            (env i is seeded as env first_env_index + i), so a stepper that
            runs a slice of the envs seeds them as a whole-batch stepper does.
        n_envs_in_batch: Envs in that larger batch (None: n_envs); in
            run_steps, agent.env_steps advances by it each round.
    """

    def __init__(self, env_class: Callable, agent_class: Callable,
                 network_fn: Optional[Callable],
                 n_envs: Annotated[int, validation.AtLeast(1)],
                 output_dir: Optional[str] = None,
                 seed: Optional[int] = None,
                 first_env_index: Annotated[int, validation.AtLeast(0)] = 0,
                 n_envs_in_batch: Annotated[
                     Optional[int], validation.AtLeast(1)] = None):
        super().__init__(env_class, agent_class, network_fn, n_envs,
                         output_dir, seed)
        self._pairs = in_process.InProcessEpisodes(
            env_class, agent_class, network_fn, n_envs, seed=seed,
            first_env_index=first_env_index, n_envs_in_batch=n_envs_in_batch,
            output_dir=output_dir)
        self._envs = self._pairs.envs
        self._agents = self._pairs.agents
        self._request_handler = self._pairs.request_handler
        self._step_collector = None  # Made by the first run_steps call.
        self._n_envs_in_batch = n_envs_in_batch or n_envs

    @property
    def n_predict_calls(self) -> int:
        """Network calls made so far (for benchmarks and tests)."""
        return self._request_handler.n_predict_calls

    def run_episode_batch(
            self, params: Any,
            batched_solve_kwargs: Optional[Dict[str, Sequence[Any]]] = None,
            **common_solve_kwargs) -> List[data.Episode]:
        return self._pairs.run_episodes(
            params, self._solve_kwargs(batched_solve_kwargs,
                                       common_solve_kwargs))

    def run_steps(self, params: Any, n_steps: int,
                  epoch: Optional[int] = None,
                  time_limit: Optional[int] = None,
                  env_steps: Optional[int] = None) -> data.StepBatch:
        if self._step_collector is None:
            self._step_collector = step_collection.StepCollector(
                self._envs, self._agents, self._n_envs_in_batch)
        self._request_handler.set_params(params)
        return self._step_collector.collect(
            self._request_handler, n_steps, epoch=epoch,
            time_limit=time_limit, env_steps=env_steps)

    def close(self) -> None:
        self._pairs.close()
