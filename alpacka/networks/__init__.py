"""Networks: the framework-independent interface and its implementations.

KerasNetwork imports TensorFlow only when one is constructed.
"""

from alpacka.networks.core import DummyNetwork, Network, TrainableNetwork

__all__ = ['DummyNetwork', 'Network', 'TrainableNetwork']
