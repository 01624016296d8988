"""Alias: DeterministicMCTSAgent's search graph lives in
alpacka.agents.search_graph.

Kept so that imports of ``alpacka.agents.mcts_tree`` keep working.
"""

from alpacka.agents.search_graph import Node, Path, SearchGraph

__all__ = ['Node', 'Path', 'SearchGraph']
