"""CEMAgent: cross-entropy-method MPC over action sequences, on a model env."""

from typing import Annotated, Any, Callable, Dict, List, Optional

import gymnasium
import numpy as np

from alpacka import data
from alpacka.agents import base
from alpacka.agents import sequences
from alpacka.agents import shooting
from alpacka.utils import validation


@validation.configurable(module='alpacka.agents')
class CEMAgent(base.OnlineAgent):
    """Plans each step with the cross-entropy method; acts on the plan (MPC).

    The search distribution is an independent Gaussian per step and action
    dimension over sequences of ``horizon`` actions ([H, *action_shape] mean
    and std). Each of ``n_iterations`` iterations samples ``population_size``
    sequences, clips them to the action bounds, plays them from the env's
    cloned state (the env is the perfect model) and refits the Gaussian to
    the ``elite_fraction`` best; ``momentum`` keeps that share of the old
    mean and std. The agent takes the first action of the best sequence found
    in any iteration, and warm-starts the next step: the Gaussian starts from
    the fitted mean shifted by one step (a new last step at the centre of the
    bounds, the std back to its initial value), and the best sequence,
    shifted alike, joins the first population, so a plan once found is kept
    until a better one turns up. The env is back in its state from before
    ``act`` when ``act`` returns. Planning is the same in evaluation mode.

    agent_info per step: ``value`` (discounted return of the best sequence),
    ``elite_return`` (mean return of the last iteration's elites),
    ``model_steps`` (env steps spent planning, on the model).

    Args:
        horizon: Actions per planned sequence (H).
        n_iterations: Refits of the Gaussian per step.
        population_size: Sequences sampled per iteration.
        elite_fraction: Share of each population the Gaussian is refitted
            to (at least one sequence).
        init_std: Initial std, as a fraction of the half-width of the action
            bounds (1.0: std equal to half of high - low).
        momentum: Weight of the old mean and std in each refit, in [0, 1)
            (0: plain CEM).
        discount: Discount of the sequences' returns.
        parameter_schedules: See Agent.
    """

    def __init__(
            self, horizon: Annotated[int, validation.AtLeast(1)] = 30,
            n_iterations: Annotated[int, validation.AtLeast(1)] = 5,
            population_size: Annotated[int, validation.AtLeast(1)] = 100,
            elite_fraction: Annotated[float, validation.InRange(
                0, 1, low_open=True)] = 0.1,
            init_std: Annotated[float, validation.AtLeast(0)] = 0.5,
            momentum: Annotated[float, validation.InRange(
                0, 1, high_open=True)] = 0.0,
            discount: Annotated[float, validation.InRange(0, 1)] = 1.0,
            parameter_schedules: Optional[Dict[str, Callable]] = None):
        super().__init__(parameter_schedules)
        self.horizon = horizon
        self.n_iterations = n_iterations
        self.population_size = population_size
        self.elite_fraction = elite_fraction
        self.init_std = init_std
        self.momentum = momentum
        self.discount = discount
        self._env = None
        self._bounds = None
        self._plan_mean = None
        self._best_sequence = None

    @property
    def plan_mean(self) -> Optional[np.ndarray]:
        """The mean sequence fitted by the last ``act``: [H, *action_shape]."""
        return self._plan_mean

    def reset(self, env: gymnasium.Env, observation: Any) -> None:
        super().reset(env, observation)
        self._env = env
        self._bounds = sequences.box_bounds(env.action_space)
        self._plan_mean = None
        self._best_sequence = None

    def _warm_start(self) -> tuple:
        """Where this step's search starts.

        Returns:
            (mean, std) [H, *action_shape], and the last step's best sequence
            shifted by one step (None on the first step).
        """
        low, high = self._bounds
        centre = (low + high) / 2
        std = np.broadcast_to(self.init_std * (high - low) / 2,
                              (self.horizon,) + low.shape)
        if self._plan_mean is None or len(self._plan_mean) != self.horizon:
            return np.broadcast_to(centre, std.shape), std, None
        def shift(sequence):
            return np.concatenate([sequence[1:], centre[np.newaxis]])
        return shift(self._plan_mean), std, shift(self._best_sequence)

    def act(self, observation: Any) -> tuple:
        low, high = self._bounds
        dtype = self._env.action_space.dtype
        n_elites = max(1, int(round(self.elite_fraction *
                                    self.population_size)))
        root_state = self._env.clone_state()
        mean, std, previous_best = self._warm_start()
        best_return, best_sequence = -np.inf, None
        model_steps = 0
        for iteration in range(self.n_iterations):
            noise = self._rng.standard_normal((self.population_size,) +
                                              mean.shape)
            population = np.clip(mean + std * noise, low, high).astype(dtype)
            if iteration == 0 and previous_best is not None:
                population[0] = previous_best
            rollouts = sequences.rollout_sequences(
                self._env, root_state, population, self.discount)
            model_steps += int(rollouts.lengths.sum())
            # The n_elites highest returns, in no particular order.
            elite_indices = np.argpartition(rollouts.returns,
                                            -n_elites)[-n_elites:]
            elites = population[elite_indices].astype(np.float64)
            elite_return = float(rollouts.returns[elite_indices].mean())
            best = int(np.argmax(rollouts.returns))
            if rollouts.returns[best] > best_return:
                best_return = float(rollouts.returns[best])
                best_sequence = population[best].copy()
            mean = (self.momentum * mean +
                    (1 - self.momentum) * elites.mean(axis=0))
            std = (self.momentum * std +
                   (1 - self.momentum) * elites.std(axis=0))
        self._plan_mean = mean
        self._best_sequence = best_sequence
        return best_sequence[0].copy(), {'value': best_return,
                                         'elite_return': elite_return,
                                         'model_steps': model_steps}

    @staticmethod
    def compute_metrics(episodes: List[data.Episode]) -> Dict[str, float]:
        metrics = shooting.ShootingAgent.compute_metrics(episodes)
        metrics['elite_return_mean'] = float(np.mean(np.concatenate(
            [episode.transition_batch.agent_info['elite_return']
             for episode in episodes])))
        return metrics
