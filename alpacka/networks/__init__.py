"""Networks: the framework-independent interface and its implementations.

Public surface (registered with Gin): ``alpacka.networks.Network``,
``TrainableNetwork``, ``DummyNetwork``, ``KerasNetwork``,
``SoftActorCriticNetwork``, ``QNetwork``; model functions ``alpacka.networks.keras.mlp``
and ``alpacka.networks.keras.convnet``; the loss
``alpacka.networks.keras.categorical_crossentropy_from_logits``.
Networks import TensorFlow only when one is constructed.

Modules:

* ``core``: Network, TrainableNetwork (with the target-weights API),
  DummyNetwork.
* ``tensorflow_base``: TensorFlowNetwork, the plumbing every TensorFlow
  network shares, and TargetWeights, the one design of target networks.
* ``numpy_mlp``: small MLPs evaluated in numpy, for cheap inference.
* ``model_builders`` (mlp, convnet, convnet_mnist, fan_in_uniform_mlp),
  ``keras_optimizers`` (``@tf.keras.optimizers.RMSprop()`` etc.), ``losses``,
  ``keras_factories``, ``keras_batches``, ``keras_network``: KerasNetwork
  and what it is built from; ``keras`` keeps the original import path.
* ``q_network``: QNetwork (DQN, double DQN, dueling, target network),
  with its maths in ``q_losses`` and its models in ``q_models``.
* ``recurrent_q_network``: RecurrentQNetwork (LSTM or GRU, trained on
  sequences from a stored state after a burn-in, R2D2-style), with its
  models in ``recurrent_q_models``.
* ``sac``: SoftActorCriticNetwork, with its maths in ``sac_losses``, its
  Gaussian and categorical policy heads in ``sac_policies`` and its
  signature and action space in ``sac_spaces``.
"""

from alpacka.networks.core import DummyNetwork, Network, TrainableNetwork
from alpacka.networks.keras_network import KerasNetwork
from alpacka.networks.model_builders import convnet, mlp
from alpacka.networks import keras  # The original module's aliases.
from alpacka.networks import keras_optimizers  # @tf.keras.optimizers.* in Gin.
from alpacka.networks import losses  # Registers its losses with Gin.
from alpacka.networks.q_network import QNetwork
from alpacka.networks.recurrent_q_network import RecurrentQNetwork
from alpacka.networks.sac import SoftActorCriticNetwork

__all__ = ['DummyNetwork', 'KerasNetwork', 'Network', 'QNetwork',
           'RecurrentQNetwork',
           'SoftActorCriticNetwork', 'TrainableNetwork', 'convnet', 'mlp']
