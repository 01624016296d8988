"""Alias: DeterministicMCTSAgent lives in alpacka.agents.deterministic_mcts.

Kept so that imports of ``alpacka.agents.mcts`` keep working.
"""

from alpacka.agents.deterministic_mcts import (GUMBEL_Q_BOUNDS,
                                               ROOT_SELECTIONS,
                                               DeterministicMCTSAgent)

__all__ = ['DeterministicMCTSAgent', 'GUMBEL_Q_BOUNDS', 'ROOT_SELECTIONS']
