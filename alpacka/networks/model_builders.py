"""Model builders: ``model_fn(network_signature) -> keras.Model`` for KerasNetwork.

Registered with Gin as ``@alpacka.networks.keras.mlp``,
``@alpacka.networks.keras.convnet`` and
``@alpacka.networks.keras.convnet_mnist`` (the names the original project's
configs use), importable from here and from ``alpacka.networks.keras``. Also
``fan_in_uniform_mlp``, the PyTorch-initialised MLP of SAC's actor and
critics.

Conventions shared by KerasNetwork and the models it runs:

* The model takes the leaves of ``network_signature.input`` in order: one
  tensor [B, ...] when the input is a single TensorSignature, otherwise a
  list of tensors.
* The model returns one head per leaf of ``network_signature.output``: a
  single tensor, a flat list in leaf order, or a structure nested like the
  output signature.
* Leaves are ordered as ``alpacka.data.nested_map`` visits them (tuple and
  list order, dict insertion order). A head is named by its path in the
  output signature (dict keys, namedtuple fields, tuple indices) joined with
  ``_``; a single TensorSignature head has no name. The builders name their
  Dense heads ``head_<name>`` and their hidden layers ``hidden_<i>`` (mlp),
  which is what ``numpy_inference`` mirrors.
"""

import functools
import math
from typing import (Annotated, Any, Callable, Dict, List, Literal, Optional,
                    Sequence, Tuple, Union)

import numpy as np

from alpacka import data
from alpacka.networks import normalization as normalization_layers
from alpacka.utils import tensorflow_import
from alpacka.utils import validation


def head_layer_name(leaf: data.SignatureLeaf) -> str:
    """The name of the Dense layer of an output leaf: 'head' or 'head_<name>'."""
    return 'head' + (f'_{leaf.name}' if leaf.name else '')


def per_head(value: Any, leaves: Sequence[data.SignatureLeaf], signature: Any,
             what: str) -> list:
    """Resolves a setting given once for all heads or nested per head.

    Args:
        value: One setting (string, callable, number, None) or a structure of
            settings nested like the output signature.
        leaves: The output signature's leaves.
        signature: The output signature.
        what: The setting's name, for error messages.

    Returns:
        One setting per head, in leaf order.
    """
    if isinstance(value, (tuple, list, dict)) and not data.is_signature(signature):
        try:
            return data.flatten_like(leaves, value, what)
        except ValueError as error:
            raise ValueError(
                f'{what} must be one value for all heads or nested like the '
                f'output signature {signature}; got {value!r}.') from error
    return [value] * len(leaves)


def _keras_inputs(keras, network_signature: data.NetworkSignature) -> list:
    """One keras.Input per input leaf."""
    return [keras.Input(shape=tuple(leaf.signature.shape),
                        dtype=np.dtype(leaf.signature.dtype).name,
                        name=f'input_{leaf.name}' if leaf.name else 'input')
            for leaf in data.leaves_with_paths(network_signature.input)]


def _model_inputs(inputs: list) -> Any:
    return inputs[0] if len(inputs) == 1 else inputs


def _heads(keras, features: Any, network_signature: data.NetworkSignature,
           output_activation: Any, output_zero_init: bool) -> list:
    """One Dense head per output leaf, reshaped to the leaf's shape.

    Args:
        keras: The keras module.
        features: Tensor [B, D].
        network_signature: The signature (its output decides the heads).
        output_activation: Activation for all heads, or nested per head.
        output_zero_init: Whether heads start at zero (zero kernel and bias).

    Returns:
        List of tensors [B, *leaf.shape], in leaf order.
    """
    leaves = data.leaves_with_paths(network_signature.output)
    activations = per_head(output_activation, leaves,
                           network_signature.output, 'output_activation')
    initializer = 'zeros' if output_zero_init else 'glorot_uniform'
    outputs = []
    for leaf, activation in zip(leaves, activations):
        shape = tuple(leaf.signature.shape)
        suffix = f'_{leaf.name}' if leaf.name else ''
        head = keras.layers.Dense(
            max(math.prod(shape), 1), activation=activation,
            kernel_initializer=initializer, name=head_layer_name(leaf))(features)
        outputs.append(keras.layers.Reshape(shape, name='output' + suffix)(head))
    return outputs


def _flat_features(keras, inputs: list) -> Any:
    """Casts the inputs to float, flattens them and concatenates: [B, D]."""
    flat = []
    for tensor in inputs:
        if tensor.dtype != 'float32':
            tensor = keras.ops.cast(tensor, 'float32')
        if len(tensor.shape) == 1:
            tensor = keras.layers.Reshape((1,))(tensor)
        elif len(tensor.shape) > 2:
            tensor = keras.layers.Flatten()(tensor)
        flat.append(tensor)
    return flat[0] if len(flat) == 1 else keras.layers.Concatenate()(flat)


# Layer widths, filters, kernel sizes and strides.
_PositiveInt = Annotated[int, validation.AtLeast(1)]
# Keras takes one size for both axes, or one per axis.
_KernelSize = Union[_PositiveInt, Tuple[_PositiveInt, _PositiveInt]]
_Activation = Optional[Union[str, Callable]]
_HeadActivation = Annotated[Any, validation.Unchecked(
    'an activation, or activations nested like the outputs')]


@validation.configurable(module='alpacka.networks.keras')
def mlp(network_signature: data.NetworkSignature,
        hidden_sizes: Sequence[_PositiveInt] = (32,),
        activation: _Activation = 'relu',
        output_activation: _HeadActivation = None,
        output_zero_init: bool = False) -> Any:
    """A multi-layer perceptron with one dense head per output leaf.

    Inputs of any shape are cast to float32, flattened and concatenated.

    Args:
        network_signature: The network's signature.
        hidden_sizes: Widths of the hidden layers.
        activation: Activation of the hidden layers (a Keras name or callable).
        output_activation: Activation of the heads: one for all heads, or
            nested like the output signature.
        output_zero_init: Initialise the heads' weights to zero (the network
            then starts by predicting zeros).

    Returns:
        A keras.Model from the input leaves to the output leaves.
    """
    _, keras = tensorflow_import.import_tensorflow()
    inputs = _keras_inputs(keras, network_signature)
    x = _flat_features(keras, inputs)
    for index, size in enumerate(hidden_sizes):
        x = keras.layers.Dense(size, activation=activation,
                               name=f'hidden_{index}')(x)
    outputs = _heads(keras, x, network_signature, output_activation,
                     output_zero_init)
    return keras.Model(inputs=_model_inputs(inputs), outputs=outputs)


@validation.configurable(module='alpacka.networks.keras')
def convnet(network_signature: data.NetworkSignature,
            d_conv: _PositiveInt = 16,
            d_ff: _PositiveInt = 64,
            n_conv_layers: Annotated[int, validation.AtLeast(0)] = 2,
            kernel_size: _KernelSize = (3, 3),
            strides: _KernelSize = (1, 1),
            activation: _Activation = 'relu',
            global_average_pooling: bool = False,
            output_activation: _HeadActivation = None,
            output_zero_init: bool = False,
            max_pool_size: Optional[_KernelSize] = None,
            kernel_initializer: str = 'glorot_uniform') -> Any:
    """A small convolutional network for image-like inputs [H, W, C].

    Conv layers (``same`` padding), then optionally a max-pooling layer, then
    flattening (or global average pooling), one dense layer of d_ff units and
    one dense head per output leaf.

    Args:
        network_signature: The network's signature; its input must be a
            single TensorSignature of shape [H, W, C] (or [H, W], treated as
            one channel).
        d_conv: Filters of each conv layer.
        d_ff: Width of the dense layer after the convolutions.
        n_conv_layers: Number of conv layers.
        kernel_size: Conv kernel size.
        strides: Conv strides.
        activation: Activation of the conv and dense layers.
        global_average_pooling: Average over H and W instead of flattening.
        output_activation: Activation of the heads: one for all heads, or
            nested like the output signature.
        output_zero_init: Initialise the heads' weights to zero.
        max_pool_size: Pool size of a max-pooling layer after the
            convolutions (``valid`` padding), or None for none.
        kernel_initializer: Keras initializer of the conv and dense kernels.

    Returns:
        A keras.Model.
    """
    _, keras = tensorflow_import.import_tensorflow()
    input_signature = network_signature.input
    if not data.is_signature(input_signature) or len(input_signature.shape) not in (2, 3):
        raise ValueError(
            f'convnet needs a single image-like input [H, W, C] or [H, W]; got '
            f'the input signature {input_signature}. Use mlp for other inputs.')
    inputs = _keras_inputs(keras, network_signature)
    x = inputs[0]
    if x.dtype != 'float32':
        x = keras.ops.cast(x, 'float32')
    if len(input_signature.shape) == 2:
        x = keras.layers.Reshape(tuple(input_signature.shape) + (1,))(x)
    for index in range(n_conv_layers):
        x = keras.layers.Conv2D(d_conv, kernel_size, strides=strides,
                                padding='same', activation=activation,
                                kernel_initializer=kernel_initializer,
                                name=f'conv_{index}')(x)
    if max_pool_size is not None:
        x = keras.layers.MaxPooling2D(max_pool_size, name='max_pool')(x)
    if global_average_pooling:
        x = keras.layers.GlobalAveragePooling2D()(x)
    else:
        x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(d_ff, activation=activation,
                           kernel_initializer=kernel_initializer,
                           name='dense')(x)
    outputs = _heads(keras, x, network_signature, output_activation,
                     output_zero_init)
    return keras.Model(inputs=inputs[0], outputs=outputs)


@validation.configurable(module='alpacka.networks.keras')
def convnet_mnist(network_signature: data.NetworkSignature,
                  n_conv_layers: Annotated[int, validation.AtLeast(0)] = 5,
                  d_conv: _PositiveInt = 64,
                  d_ff: _PositiveInt = 128,
                  activation: _Activation = 'relu',
                  kernel_initializer: str = 'glorot_uniform',
                  output_activation: _HeadActivation = None,
                  output_zero_init: bool = False,
                  global_average_pooling: bool = False) -> Any:
    """The original project's convnet of its Sokoban configs.

    ``n_conv_layers`` 3x3 conv layers of ``d_conv`` filters (``same``
    padding), a 2x2 max-pooling layer, a dense layer of ``d_ff`` units and
    one dense head per output leaf: ``convnet`` with those settings and the
    original's defaults. Args as in ``convnet``.

    Returns:
        A keras.Model.
    """
    return convnet(network_signature, d_conv=d_conv, d_ff=d_ff,
                   n_conv_layers=n_conv_layers, kernel_size=(3, 3),
                   strides=(1, 1), activation=activation,
                   global_average_pooling=global_average_pooling,
                   output_activation=output_activation,
                   output_zero_init=output_zero_init, max_pool_size=(2, 2),
                   kernel_initializer=kernel_initializer)


def _fan_in_uniform_dense(keras: Any, width: int, fan_in: int,
                          activation: Optional[str]) -> Any:
    """A Dense layer initialised uniformly within 1/sqrt(fan_in).

    The initialisation of PyTorch's Linear layers, which the reference SAC
    implementations use: smaller initial weights than Keras' Glorot default
    (1/16 against 1/9 for 256x256), so the first Q values and log-stds start
    near zero.
    """
    bound = 1.0 / math.sqrt(fan_in)
    return keras.layers.Dense(
        width, activation=activation,
        kernel_initializer=keras.initializers.RandomUniform(-bound, bound),
        bias_initializer=keras.initializers.RandomUniform(-bound, bound))


# The normalisation layers fan_in_uniform_mlp can put in its hidden layers.
Normalization = Literal['none', 'layer', 'batch_renorm']
# Layer normalisation's epsilon (Keras' default; numpy_mlp mirrors it).
LAYER_NORM_EPSILON = 1e-3


def fan_in_uniform_mlp(keras: Any, input_shapes: List[tuple], n_outputs: int,
                       hidden_sizes: Sequence[int], name: str,
                       normalization: Normalization = 'none',
                       batch_renorm_kwargs: Optional[Dict[str, Any]] = None
                       ) -> Any:
    """An MLP initialised like PyTorch's Linear layers (SAC's actor and critics).

    Inputs are flattened and concatenated; relu hidden layers; a linear
    output layer. Every Dense layer starts uniform within 1/sqrt(fan_in).
    With ``normalization``:

    * ``'layer'``: each hidden layer is Dense, LayerNormalization, relu (the
      norm before the activation, as in DroQ and SBX's critics);
    * ``'batch_renorm'``: Batch Renormalization of the concatenated inputs
      and after each hidden layer's relu (CrossQ, Bhatt et al. 2024: the
      output layer reads normalised features).

    Args:
        keras: The keras module.
        input_shapes: The inputs' shapes (without the batch axis).
        n_outputs: Width of the output layer.
        hidden_sizes: Widths of the hidden layers.
        name: The model's name.
        normalization: 'none', 'layer' or 'batch_renorm'.
        batch_renorm_kwargs: Arguments of the Batch Renormalization layers
            (``normalization.batch_renormalization``), e.g. momentum.

    Returns:
        A keras.Model from the inputs (one tensor, or a list) to [B, n_outputs].
    """
    renorm = functools.partial(normalization_layers.batch_renormalization,
                               keras, **(batch_renorm_kwargs or {}))
    inputs = [keras.Input(shape) for shape in input_shapes]
    flat = [keras.layers.Flatten()(x) if len(shape) != 1 else x
            for x, shape in zip(inputs, input_shapes)]
    x = flat[0] if len(flat) == 1 else keras.layers.Concatenate()(flat)
    if normalization == 'batch_renorm':
        x = renorm()(x)
    for width in hidden_sizes:
        fan_in = int(x.shape[-1])
        if normalization == 'layer':
            x = _fan_in_uniform_dense(keras, width, fan_in, None)(x)
            x = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON)(x)
            x = keras.layers.Activation('relu')(x)
        else:
            x = _fan_in_uniform_dense(keras, width, fan_in, 'relu')(x)
        if normalization == 'batch_renorm':
            x = renorm()(x)
    outputs = _fan_in_uniform_dense(keras, n_outputs, int(x.shape[-1]), None)(x)
    return keras.Model(inputs=inputs[0] if len(inputs) == 1 else inputs,
                       outputs=outputs, name=name)
