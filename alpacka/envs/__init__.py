"""Environments: the model-env contract, CartPole, Pendulum, NoisyCartPole,
any gymnasium env (GymEnv), Atari (AtariEnv), MinAtar (MinAtarEnv),
partially observed envs (MaskedObservation, CartPoleNoVel), FrameStack,
TimeLimitWrapper, curricula of env params and Sokoban (with
ActionNoiseSokoban)."""

from alpacka.envs import base
from alpacka.envs import curriculum
from alpacka.envs.atari import AtariEnv
from alpacka.envs.base import (ModelEnv, ModelWrapper, TimedState,
                               TimeLimitWrapper)
from alpacka.envs.classic_control import CartPole, Pendulum
from alpacka.envs.curriculum import Curriculum, CurriculumWrapper
from alpacka.envs.frame_stack import FrameStack
from alpacka.envs.gym_adapter import GymEnv
from alpacka.envs.masked import CartPoleNoVel, MaskedObservation
from alpacka.envs.minatar import MinAtarEnv
from alpacka.envs.noisy import NoisyCartPole
from alpacka.envs.sokoban import ActionNoiseSokoban, Sokoban

__all__ = ['ActionNoiseSokoban', 'AtariEnv', 'CartPole', 'CartPoleNoVel',
           'Curriculum', 'CurriculumWrapper', 'FrameStack', 'GymEnv',
           'MaskedObservation', 'MinAtarEnv', 'ModelEnv', 'ModelWrapper',
           'NoisyCartPole',
           'Pendulum', 'Sokoban', 'TimedState', 'TimeLimitWrapper', 'base',
           'curriculum']
