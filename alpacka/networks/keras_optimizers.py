"""Keras optimizers for Gin configs, by the names the original project used.

Configs written for the original Alpacka project say::

    KerasNetwork.optimizer = @tf.keras.optimizers.RMSprop()
    RMSprop.learning_rate = 0.0001

Registering Keras' own classes with Gin would import TensorFlow at
``import alpacka``. Instead, ``RMSprop``, ``Adam`` and ``SGD`` here are Gin
configurables under the module ``tf.keras.optimizers`` that return an
``OptimizerSpec``: the optimizer's name and arguments, turned into a fresh
Keras optimizer when a KerasNetwork is built (``keras_factories``), so two
networks never share optimizer slots.
"""

import dataclasses
from typing import Annotated, Any, Dict, Optional

from alpacka.utils import validation

_Rate = Annotated[float, validation.AtLeast(0)]
_Clip = Annotated[Optional[float], validation.GreaterThan(0)]


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """A Keras optimizer to be made: ``keras.optimizers.<name>(**kwargs)``.

    Attributes:
        name: The class name in keras.optimizers, e.g. 'RMSprop'.
        kwargs: Its constructor arguments.
    """

    name: str
    kwargs: Dict[str, Any]

    def make(self, keras: Any) -> Any:
        """A new optimizer of this class and configuration."""
        return getattr(keras.optimizers, self.name)(**self.kwargs)


def _spec(name: str, **kwargs: Any) -> OptimizerSpec:
    return OptimizerSpec(name, {key: value for key, value in kwargs.items()
                                if value is not None})


@validation.configurable(module='tf.keras.optimizers')
def RMSprop(learning_rate: _Rate = 0.001,  # pylint: disable=invalid-name
            rho: Annotated[float, validation.InRange(0, 1)] = 0.9,
            momentum: Annotated[float, validation.AtLeast(0)] = 0.0,
            epsilon: Annotated[float, validation.GreaterThan(0)] = 1e-7,
            centered: bool = False, clipnorm: _Clip = None,
            clipvalue: _Clip = None,
            global_clipnorm: _Clip = None) -> OptimizerSpec:
    """``keras.optimizers.RMSprop`` with these arguments (Keras' defaults)."""
    return _spec('RMSprop', learning_rate=learning_rate, rho=rho,
                 momentum=momentum, epsilon=epsilon, centered=centered,
                 clipnorm=clipnorm, clipvalue=clipvalue,
                 global_clipnorm=global_clipnorm)


@validation.configurable(module='tf.keras.optimizers')
def Adam(learning_rate: _Rate = 0.001,  # pylint: disable=invalid-name
         beta_1: Annotated[float, validation.InRange(0, 1)] = 0.9,
         beta_2: Annotated[float, validation.InRange(0, 1)] = 0.999,
         epsilon: Annotated[float, validation.GreaterThan(0)] = 1e-7,
         amsgrad: bool = False, clipnorm: _Clip = None,
         clipvalue: _Clip = None,
         global_clipnorm: _Clip = None) -> OptimizerSpec:
    """``keras.optimizers.Adam`` with these arguments (Keras' defaults)."""
    return _spec('Adam', learning_rate=learning_rate, beta_1=beta_1,
                 beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                 clipnorm=clipnorm, clipvalue=clipvalue,
                 global_clipnorm=global_clipnorm)


@validation.configurable(module='tf.keras.optimizers')
def SGD(learning_rate: _Rate = 0.01,  # pylint: disable=invalid-name
        momentum: Annotated[float, validation.AtLeast(0)] = 0.0,
        nesterov: bool = False, clipnorm: _Clip = None,
        clipvalue: _Clip = None,
        global_clipnorm: _Clip = None) -> OptimizerSpec:
    """``keras.optimizers.SGD`` with these arguments (Keras' defaults)."""
    return _spec('SGD', learning_rate=learning_rate, momentum=momentum,
                 nesterov=nesterov, clipnorm=clipnorm, clipvalue=clipvalue,
                 global_clipnorm=global_clipnorm)
