"""Networks: the framework-independent interface and its implementations.

Public surface (registered with Gin): ``alpacka.networks.Network``,
``TrainableNetwork``, ``DummyNetwork``, ``KerasNetwork``; model functions
``alpacka.networks.keras.mlp`` and ``alpacka.networks.keras.convnet``;
``SoftActorCriticNetwork`` (actor, twin critics, targets and temperature).
Networks import TensorFlow only when one is constructed.
"""

from alpacka.networks.core import DummyNetwork, Network, TrainableNetwork
from alpacka.networks.keras_network import KerasNetwork
from alpacka.networks.model_builders import convnet, mlp
from alpacka.networks import keras  # The original module's aliases.
from alpacka.networks import losses  # Registers its losses with Gin.
from alpacka.networks.sac import SoftActorCriticNetwork

__all__ = ['DummyNetwork', 'KerasNetwork', 'Network',
           'SoftActorCriticNetwork', 'TrainableNetwork', 'convnet', 'mlp']
