"""Networks: the framework-independent interface and its implementations.

Public surface (registered with Gin): ``alpacka.networks.Network``,
``TrainableNetwork``, ``DummyNetwork``, ``KerasNetwork``; model functions
``alpacka.networks.keras.mlp`` and ``alpacka.networks.keras.convnet``.
KerasNetwork imports TensorFlow only when one is constructed.
"""

from alpacka.networks.core import DummyNetwork, Network, TrainableNetwork
from alpacka.networks.keras import KerasNetwork, convnet, mlp

__all__ = ['DummyNetwork', 'KerasNetwork', 'Network', 'TrainableNetwork',
           'convnet', 'mlp']
