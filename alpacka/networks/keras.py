"""The original module of KerasNetwork and its model functions: aliases.

``from alpacka.networks.keras import KerasNetwork, mlp, convnet`` and
``categorical_crossentropy_from_logits`` keep working. The code lives in one
module per job:

* ``model_builders``: ``mlp``, ``convnet`` (Gin: ``@alpacka.networks.keras.mlp``,
  ``@alpacka.networks.keras.convnet``);
* ``losses``: ``categorical_crossentropy_from_logits`` (Gin:
  ``@alpacka.networks.keras.categorical_crossentropy_from_logits``);
* ``keras_factories``: optimizers, losses and metrics from their names;
* ``keras_network``: ``KerasNetwork`` (Gin: ``@alpacka.networks.KerasNetwork``);
* ``tensorflow_base``: what every TensorFlow network shares, targets included.
"""

from alpacka.networks.keras_network import KerasNetwork
from alpacka.networks.losses import categorical_crossentropy_from_logits
from alpacka.networks.model_builders import convnet, mlp

__all__ = ['KerasNetwork', 'categorical_crossentropy_from_logits', 'convnet',
           'mlp']
