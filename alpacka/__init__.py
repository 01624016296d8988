"""Alpacka: a Gin-configured framework for model-based reinforcement learning.

Importing alpacka registers every public class with Gin under its package
name (``@alpacka.agents.ShootingAgent``, ``@alpacka.envs.CartPole``, ...).
TensorFlow and Ray are imported only by the classes that use them.
"""

import gin
import numpy as np

from alpacka import agents
from alpacka import batch_steppers
from alpacka import data
from alpacka import envs
from alpacka import metric_logging
from alpacka import networks
from alpacka import runner
from alpacka import trainers
from alpacka.utils import schedules

# Configs of the original project name numpy reductions as @np.mean etc.
for _reduction in (np.mean, np.max, np.min, np.median, np.sum):
    gin.external_configurable(_reduction, module='np')
