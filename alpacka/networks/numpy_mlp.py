"""Small MLPs evaluated in numpy, for cheap inference.

A TensorFlow call costs a few hundred microseconds whatever the batch size;
numpy evaluates a small MLP in tens of microseconds. One evaluator serves
KerasNetwork (models built by ``model_builders.mlp``, possibly with several
heads, on its weights or on its target weights) and SoftActorCriticNetwork
(its actor, from the params it was given, without touching TensorFlow).
"""

from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from alpacka.networks import normalization as norm_maths


def _softmax(x: np.ndarray) -> np.ndarray:
    exp = np.exp(x - x.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


_ACTIVATIONS = {
    'linear': lambda x: x,
    'relu': lambda x: np.maximum(x, 0.0),
    'tanh': np.tanh,
    'sigmoid': lambda x: 1.0 / (1.0 + np.exp(-x)),
    'softmax': _softmax,
}


# What mlp's graph is made of, besides its Dense layers' arithmetic.
_MIRRORED_LAYER_KINDS = frozenset({'InputLayer', 'Dense', 'Reshape', 'Flatten',
                                   'Concatenate'})


# Arrays per normalisation layer, in the order the Keras layers hold them.
_NORM_ARRAYS = {'none': 0, 'layer': 2, 'batch_renorm': 5}

# OpenBLAS runs a matrix product on several threads once m * n * k exceeds
# this; on a busy machine the threads wait for cores (a 128-row product of a
# 64x64 layer took 19 ms instead of 0.17 ms on one thread). Batches of small
# layers are therefore evaluated in blocks of rows that stay below it.
_BLAS_SINGLE_THREAD_MNK = 4 * 65536
# Blocks are never smaller than this (so smaller batches run whole, and
# their results do not change).
_MIN_BLOCK_ROWS = 64


def _normalize(kind: str, x: np.ndarray, arrays: Sequence[np.ndarray],
               epsilon: float) -> np.ndarray:
    """One normalisation layer in inference mode (see fan_in_uniform_mlp)."""
    if kind == 'layer':
        gamma, beta = arrays
        return norm_maths.layer_norm_numpy(x, gamma, beta, epsilon)
    gamma, beta, moving_mean, moving_variance, _ = arrays
    return norm_maths.normalize(x, moving_mean, moving_variance, gamma,
                                   beta, epsilon)


class NumpyMLP:
    """Dense layers in numpy: a chain of hidden layers, then one or more heads.

    The inputs are cast to float32, flattened and concatenated: [B, D]. Each
    hidden layer computes ``activation(x @ kernel + bias)``; every head reads
    the last hidden features and is reshaped to its shape.

    The weights are a flat list ``[kernel_0, bias_0, kernel_1, bias_1, ...]``
    (hidden layers, then heads), either given with set_weights() or read on
    first use after invalidate() from ``read_weights``. With normalisation
    (the layouts of ``model_builders.fan_in_uniform_mlp``, in inference
    mode), each hidden layer's kernel and bias are followed by its norm
    layer's arrays: ``'layer'``, ``activation(LN(x @ kernel + bias))`` with
    gamma, beta; ``'batch_renorm'``, ``BRN(activation(x @ kernel + bias))``
    on the moving statistics, with gamma, beta, moving mean, moving variance
    and steps, and one such layer on the inputs first.

    Args:
        activations: Activation names of the hidden layers, then of the heads
            (see ``_ACTIVATIONS``).
        head_shapes: Shape of each head's output (without the batch axis).
        read_weights: Zero-argument callable returning the flat weight list;
            None if the weights are always given with set_weights().
        normalization: 'none', 'layer' or 'batch_renorm'.
        epsilon: The normalisation layers' epsilon.
    """

    def __init__(self, activations: Sequence[str],
                 head_shapes: Sequence[Tuple[int, ...]],
                 read_weights: Optional[Callable[[], Sequence[Any]]] = None,
                 normalization: str = 'none', epsilon: float = 1e-3):
        unknown = [name for name in activations if name not in _ACTIVATIONS]
        if unknown:
            raise ValueError(
                f'numpy_inference supports the activations '
                f'{sorted(_ACTIVATIONS)}; got {unknown}.')
        if normalization not in _NORM_ARRAYS:
            raise ValueError(f'numpy_inference supports the normalizations '
                             f'{sorted(_NORM_ARRAYS)}; got {normalization!r}.')
        self._shapes = [tuple(shape) for shape in head_shapes]
        self._n_hidden = len(activations) - len(self._shapes)
        self._activations = [_ACTIVATIONS[name] for name in activations]
        self._read_weights = read_weights
        self._normalization = normalization
        self._epsilon = float(epsilon)
        self._weights = None
        self._norms = None
        self._block_rows = None

    def invalidate(self) -> None:
        """Forgets the cached weights (call after they change)."""
        self._weights = None

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Uses these arrays (see the class docstring) until invalidated."""
        arrays = iter([np.asarray(array) for array in weights])
        n_norm = _NORM_ARRAYS[self._normalization]

        def take(n):
            return [next(arrays) for _ in range(n)]

        input_norm = take(n_norm) if self._normalization == 'batch_renorm' \
            else None
        dense, norms = [], []
        for _ in range(self._n_hidden):
            dense.append(tuple(take(2)))
            norms.append(take(n_norm))
        dense.extend(tuple(take(2)) for _ in self._shapes)
        self._weights = dense
        self._norms = (input_norm, norms)
        widest = max(kernel.size for kernel, _ in dense)
        block_rows = _BLAS_SINGLE_THREAD_MNK // max(widest, 1)
        self._block_rows = block_rows if block_rows >= _MIN_BLOCK_ROWS \
            else None

    def _hidden_features(self, features: np.ndarray) -> np.ndarray:
        kind = self._normalization
        input_norm, norms = self._norms
        if kind == 'batch_renorm':
            features = _normalize(kind, features, input_norm, self._epsilon)
        for (kernel, bias), norm, activation in zip(
                self._weights[:self._n_hidden], norms, self._activations):
            features = features @ kernel + bias
            if kind == 'layer':
                features = _normalize(kind, features, norm, self._epsilon)
            features = activation(features)
            if kind == 'batch_renorm':
                features = _normalize(kind, features, norm, self._epsilon)
        return features

    def __call__(self, flat_inputs: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Outputs [B, *head shape] per head, float32 for float32 weights."""
        if self._weights is None:
            self.set_weights(self._read_weights())
        batch_size = len(flat_inputs[0])
        if len(flat_inputs) == 1:
            features = np.asarray(flat_inputs[0], np.float32).reshape(
                batch_size, -1)
        else:
            features = np.concatenate(
                [np.asarray(x, np.float32).reshape(batch_size, -1)
                 for x in flat_inputs], axis=1)
        block_rows = self._block_rows
        if block_rows is None or batch_size <= block_rows:
            outputs = self._heads(self._hidden_features(features))
        else:  # One thread per product: see _BLAS_SINGLE_THREAD_MNK.
            blocks = [self._heads(self._hidden_features(
                features[start:start + block_rows]))
                      for start in range(0, batch_size, block_rows)]
            outputs = [np.concatenate(head) for head in zip(*blocks)]
        return [output.reshape((batch_size,) + shape)
                for output, shape in zip(outputs, self._shapes)]

    def _heads(self, features: np.ndarray) -> List[np.ndarray]:
        """Every head's [B, units] output on the last hidden features."""
        n_hidden = self._n_hidden
        return [activation(features @ kernel + bias)
                for (kernel, bias), activation in zip(
                    self._weights[n_hidden:], self._activations[n_hidden:])]


def _activation_name(layer: Any) -> str:
    name = getattr(layer.activation, '__name__', str(layer.activation))
    if name not in _ACTIVATIONS:
        raise ValueError(
            f'KerasNetwork.numpy_inference supports the activations '
            f'{sorted(_ACTIVATIONS)}; layer {layer.name} uses {name!r}.')
    return name


def keras_mlp_layout(model: Any, head_names: Sequence[str]
                     ) -> Tuple[List[str], List[int]]:
    """What a NumpyMLP needs to mirror a model built by ``mlp``.

    Args:
        model: A keras.Model built by model_builders.mlp.
        head_names: Names of its head layers, in output-leaf order.

    Returns:
        ``(activations, weight_indices)``: the activation names of the hidden
        layers and heads, and the indices in ``model.weights`` of their
        kernels and biases, in NumpyMLP's order.

    Raises:
        ValueError: the model has layers or activations numpy cannot mirror.
    """
    layer_names = {layer.name for layer in model.layers}
    hidden = []
    while f'hidden_{len(hidden)}' in layer_names:
        hidden.append(model.get_layer(f'hidden_{len(hidden)}'))
    mirrored = {layer.name for layer in hidden} | set(head_names)
    weighted = {layer.name for layer in model.layers if layer.weights}
    kinds = {type(layer).__name__ for layer in model.layers}
    if (not set(head_names) <= layer_names or weighted != mirrored or
            not kinds <= _MIRRORED_LAYER_KINDS):
        raise ValueError(
            'KerasNetwork.numpy_inference needs a model built by '
            'alpacka.networks.keras.mlp (Dense hidden_<i> and head '
            f'layers only); this model has layers {sorted(kinds)}.')
    layers = hidden + [model.get_layer(name) for name in head_names]
    index_of = {id(variable): index
                for index, variable in enumerate(model.weights)}
    weight_indices = [index_of[id(variable)] for layer in layers
                      for variable in (layer.kernel, layer.bias)]
    return [_activation_name(layer) for layer in layers], weight_indices
