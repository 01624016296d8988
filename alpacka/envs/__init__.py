"""Environments: the model-env contract, CartPole, Pendulum, any gymnasium env."""

from alpacka.envs.base import ModelEnv, ModelWrapper, TimeLimitWrapper
from alpacka.envs.classic_control import CartPole, Pendulum
from alpacka.envs.gym_adapter import GymEnv

__all__ = ['CartPole', 'GymEnv', 'ModelEnv', 'ModelWrapper', 'Pendulum',
           'TimeLimitWrapper']
