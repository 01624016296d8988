"""The metrics every planner logs, under one name across planners.

ShootingAgent, CEMAgent and both MCTS agents put ``value`` (the planner's
estimate of the chosen action's value) and ``model_steps`` (env steps taken
on the model, perfect or learned, to choose it) in each step's agent_info,
so their planning cost shares one plot: ``agent/model_steps_per_step``.
"""

from typing import Dict, Sequence

import numpy as np

from alpacka import data


def planning_metrics(episodes: Sequence[data.Episode]) -> Dict[str, float]:
    """``value_mean`` and ``model_steps_per_step`` over the episodes' steps.

    Args:
        episodes: Episodes whose agent_info holds ``value`` [T] and
            ``model_steps`` [T].

    Returns:
        The two means, as floats.
    """
    infos = [episode.transition_batch.agent_info for episode in episodes]
    values = np.concatenate([info['value'] for info in infos])
    model_steps = np.concatenate([info['model_steps'] for info in infos])
    return {'value_mean': float(values.mean()),
            'model_steps_per_step': float(model_steps.mean())}
