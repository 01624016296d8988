"""The original module of KerasNetwork and its model functions: aliases.

``from alpacka.networks.keras import KerasNetwork, mlp, convnet`` and
``categorical_crossentropy_from_logits`` keep working. The code lives in one
module per job:

* ``model_builders``: ``mlp``, ``convnet``, ``convnet_mnist`` (Gin:
  ``@alpacka.networks.keras.mlp``, ``@alpacka.networks.keras.convnet``,
  ``@alpacka.networks.keras.convnet_mnist``);
* ``keras_optimizers``: ``@tf.keras.optimizers.RMSprop()``, ``Adam()``,
  ``SGD()`` for Gin, without importing TensorFlow;
* ``losses``: ``categorical_crossentropy_from_logits`` (Gin:
  ``@alpacka.networks.keras.categorical_crossentropy_from_logits``);
* ``keras_factories``: optimizers, losses and metrics from their names;
* ``keras_network``: ``KerasNetwork`` (Gin: ``@alpacka.networks.KerasNetwork``);
* ``tensorflow_base``: what every TensorFlow network shares, targets included.
"""

from alpacka.networks.keras_network import KerasNetwork
from alpacka.networks.losses import categorical_crossentropy_from_logits
from alpacka.networks.model_builders import convnet, convnet_mnist, mlp

__all__ = ['KerasNetwork', 'categorical_crossentropy_from_logits', 'convnet',
           'convnet_mnist', 'mlp']
