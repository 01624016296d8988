"""Agents: the coroutine protocol and the agents built on it.

Public surface (all registered with Gin under ``alpacka.agents``):
- protocol: Agent, OnlineAgent, EpisodeRecord, AgentCallback (hooks into
  an OnlineAgent's episodes: ``OnlineAgent.callback_classes``);
- model-free: RandomAgent, SoftmaxAgent, EpsilonGreedyAgent;
- planning with a perfect model: ShootingAgent (random shooting, discrete or
  continuous), CEMAgent (cross-entropy method, continuous),
  DeterministicMCTSAgent (AlphaZero-style, PUCT or Gumbel root selection),
  StochasticMCTSAgent (with rollout, value and Q leaf raters);
- model-free actor-critic: SoftActorCriticAgent;
- Q-learning: QAgent, PolicyMixtureAgent and the acting policies
  (GreedyPolicy, EpsilonGreedyPolicy, ApeXEpsilonGreedyPolicy,
  BoltzmannPolicy, RandomPolicy; module ``q_policies``), RecurrentQAgent
  (carries an LSTM's or GRU's state through its requests).

Modules beside the agents: ``selection`` (the MCTS selection rules: PUCT,
UCT, Gumbel, temperature and tie-break), ``search_graph`` (the deterministic
search graph), ``requests`` (answering agents' requests, batched),
``callbacks`` (AgentCallback), ``search_trace`` (SearchTraceCallback:
records sampled episodes' search trees for ``python3 -m
alpacka.trace_explorer``) and ``in_process`` (env-agent pairs whose episodes
run side by side in this process: LocalBatchStepper and ShootingAgent's
rollouts).
"""

from alpacka.agents import shooting
from alpacka.agents.base import Agent, OnlineAgent, maybe_coroutine
from alpacka.agents.callbacks import AgentCallback
from alpacka.agents.cem import CEMAgent
from alpacka.agents.episode_record import EpisodeRecord
from alpacka.agents.core import EpsilonGreedyAgent, RandomAgent, SoftmaxAgent
from alpacka.agents.deterministic_mcts import DeterministicMCTSAgent
from alpacka.agents.q_learning import PolicyMixtureAgent, QAgent
from alpacka.agents.q_policies import (ApeXEpsilonGreedyPolicy,
                                       BoltzmannPolicy, EpsilonGreedyPolicy,
                                       GreedyPolicy, RandomPolicy)
from alpacka.agents.recurrent_q import RecurrentQAgent
from alpacka.agents.sac import SoftActorCriticAgent
from alpacka.agents.search_trace import SearchTraceCallback
from alpacka.agents.shooting import ShootingAgent
from alpacka.agents.stochastic_mcts import StochasticMCTSAgent

__all__ = [
    'Agent', 'AgentCallback', 'ApeXEpsilonGreedyPolicy', 'BoltzmannPolicy',
    'CEMAgent',
    'DeterministicMCTSAgent', 'EpisodeRecord',
    'EpsilonGreedyAgent', 'EpsilonGreedyPolicy', 'GreedyPolicy',
    'OnlineAgent', 'PolicyMixtureAgent', 'QAgent', 'RandomAgent',
    'RandomPolicy', 'RecurrentQAgent', 'SearchTraceCallback', 'ShootingAgent',
    'SoftActorCriticAgent',
    'SoftmaxAgent',
    'StochasticMCTSAgent', 'maybe_coroutine', 'shooting',
]
