"""Trainers: consume episodes into replay buffers and train networks.

Public surface: ``Trainer`` (the interface), ``DummyTrainer``,
``SupervisedTrainer`` with its target/input/mask functions in the
``supervised`` module (``@alpacka.trainers.supervised.target_value`` in Gin),
and the replay buffers ``UniformReplayBuffer`` and
``HierarchicalReplayBuffer``. Nothing here imports TensorFlow.
"""

from alpacka.trainers import replay_buffers
from alpacka.trainers import supervised
from alpacka.trainers.base import DummyTrainer, Trainer
from alpacka.trainers.replay_buffers import (HierarchicalReplayBuffer,
                                             UniformReplayBuffer)
from alpacka.trainers.sac import SoftActorCriticTrainer
from alpacka.trainers.supervised import SupervisedTrainer
from alpacka.trainers.td import TDTrainer

__all__ = [
    'DummyTrainer', 'HierarchicalReplayBuffer', 'SoftActorCriticTrainer',
    'SupervisedTrainer',
    'TDTrainer', 'Trainer',
    'UniformReplayBuffer', 'replay_buffers', 'supervised',
]
