"""Agents: the coroutine protocol and the agents built on it.

Public surface (all registered with Gin under ``alpacka.agents``):
Agent, OnlineAgent, RandomAgent, SoftmaxAgent, EpsilonGreedyAgent,
ShootingAgent.
"""

from alpacka.agents import shooting
from alpacka.agents.base import Agent, OnlineAgent, maybe_coroutine
from alpacka.agents.core import EpsilonGreedyAgent, RandomAgent, SoftmaxAgent
from alpacka.agents.shooting import ShootingAgent

__all__ = ['Agent', 'EpsilonGreedyAgent', 'OnlineAgent', 'RandomAgent',
           'ShootingAgent', 'SoftmaxAgent', 'maybe_coroutine', 'shooting']
