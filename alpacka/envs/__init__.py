"""Environments: the model-env contract, CartPole, Pendulum, NoisyCartPole,
any gymnasium env (GymEnv) and TimeLimitWrapper."""

from alpacka.envs import base
from alpacka.envs.base import (ModelEnv, ModelWrapper, TimedState,
                               TimeLimitWrapper)
from alpacka.envs.classic_control import CartPole, Pendulum
from alpacka.envs.gym_adapter import GymEnv
from alpacka.envs.noisy import NoisyCartPole

__all__ = ['CartPole', 'GymEnv', 'ModelEnv', 'ModelWrapper', 'NoisyCartPole',
           'Pendulum', 'TimedState', 'TimeLimitWrapper', 'base']
