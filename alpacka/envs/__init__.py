"""Environments: the model-env contract, CartPole, Pendulum, NoisyCartPole,
any gymnasium env (GymEnv), TimeLimitWrapper and curricula of env params."""

from alpacka.envs import base
from alpacka.envs import curriculum
from alpacka.envs.base import (ModelEnv, ModelWrapper, TimedState,
                               TimeLimitWrapper)
from alpacka.envs.classic_control import CartPole, Pendulum
from alpacka.envs.curriculum import Curriculum, CurriculumWrapper
from alpacka.envs.gym_adapter import GymEnv
from alpacka.envs.noisy import NoisyCartPole

__all__ = ['CartPole', 'Curriculum', 'CurriculumWrapper', 'GymEnv', 'ModelEnv',
           'ModelWrapper', 'NoisyCartPole', 'Pendulum', 'TimedState',
           'TimeLimitWrapper', 'base', 'curriculum']
