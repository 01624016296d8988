"""Trainers: consume episodes into replay buffers and train networks."""

from alpacka.trainers.base import DummyTrainer, Trainer

__all__ = ['DummyTrainer', 'Trainer']
