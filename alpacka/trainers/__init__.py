"""Trainers: consume episodes into replay buffers and train networks.

Public surface: ``Trainer`` (the interface), ``DummyTrainer``,
``ReplayTrainer`` (the base of the trainers that own a replay buffer, such
as ``SupervisedTrainer`` and ``SoftActorCriticTrainer``), ``TDTrainer``,
``SupervisedTrainer``'s target/input/mask functions in the ``supervised``
module (``@alpacka.trainers.supervised.target_value`` in Gin), and the replay
buffers ``UniformReplayBuffer`` and ``HierarchicalReplayBuffer``. Nothing
here imports TensorFlow.
"""

from alpacka.trainers import replay_buffers
from alpacka.trainers import supervised
from alpacka.trainers.base import DummyTrainer, Trainer
from alpacka.trainers.replay_buffers import (HierarchicalReplayBuffer,
                                             UniformReplayBuffer)
from alpacka.trainers.q_learning import QLearningTrainer
from alpacka.trainers.recurrent_q_learning import RecurrentQLearningTrainer
from alpacka.trainers.replay_trainer import ReplayTrainer
from alpacka.trainers.sac import SoftActorCriticTrainer
from alpacka.trainers.supervised import SupervisedTrainer
from alpacka.trainers.td import TDTrainer

__all__ = [
    'DummyTrainer', 'HierarchicalReplayBuffer', 'QLearningTrainer',
    'RecurrentQLearningTrainer',
    'ReplayTrainer',
    'SoftActorCriticTrainer', 'SupervisedTrainer',
    'TDTrainer', 'Trainer',
    'UniformReplayBuffer', 'replay_buffers', 'supervised',
]
