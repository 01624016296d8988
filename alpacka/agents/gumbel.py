"""Alias: the Gumbel root rule lives in alpacka.agents.selection.

Kept so that imports of ``alpacka.agents.gumbel`` keep working; ``rescale``
is ``selection.minmax_rescale``.
"""

from alpacka.agents.selection import (SequentialHalving, completed_q,
                                      gumbel_top_k, improved_policy, sigma)
from alpacka.agents.selection import minmax_rescale as rescale

__all__ = ['SequentialHalving', 'completed_q', 'gumbel_top_k',
           'improved_policy', 'rescale', 'sigma']
