"""A numpy mirror of the MLPs that keras.mlp builds, for cheap inference.

A TensorFlow call costs a few hundred microseconds whatever the batch size;
numpy evaluates a small MLP in tens of microseconds.
"""

from typing import Any, Callable, List, Sequence, Tuple

import numpy as np


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


class NumpyMLP:
    """Evaluates a model built by ``mlp`` in numpy, from cached weights.

    Args:
        model: A keras.Model built by mlp.
        head_names: Names of the head layers, in output-leaf order.
        head_shapes: Shapes of the output leaves (without the batch axis).

    Mirrors mlp's graph: inputs cast to float32, flattened and concatenated;
    the ``hidden_<i>`` Dense layers; one ``head_<name>`` Dense layer per
    output leaf, reshaped to the leaf's shape. The weights are read from the
    Keras layers on first use after every change (invalidate()).
    """

    def __init__(self, model: Any, head_names: Sequence[str],
                 head_shapes: Sequence[Tuple[int, ...]]):
        layer_names = {layer.name for layer in model.layers}
        self._hidden = []
        while f'hidden_{len(self._hidden)}' in layer_names:
            self._hidden.append(model.get_layer(f'hidden_{len(self._hidden)}'))
        mirrored = {layer.name for layer in self._hidden} | set(head_names)
        weighted = {layer.name for layer in model.layers if layer.weights}
        kinds = {type(layer).__name__ for layer in model.layers}
        if (not set(head_names) <= layer_names or weighted != mirrored or
                not kinds <= _MIRRORED_LAYER_KINDS):
            raise ValueError(
                'KerasNetwork.numpy_inference needs a model built by '
                'alpacka.networks.keras.mlp (Dense hidden_<i> and head '
                f'layers only); this model has layers {sorted(kinds)}.')
        self._heads = [model.get_layer(name) for name in head_names]
        self._shapes = [tuple(shape) for shape in head_shapes]
        self._activations = [self._activation(layer)
                             for layer in self._hidden + self._heads]
        self._weights = None

    @staticmethod
    def _activation(layer: Any) -> Callable:
        name = getattr(layer.activation, '__name__', str(layer.activation))
        if name not in _ACTIVATIONS:
            raise ValueError(
                f'KerasNetwork.numpy_inference supports the activations '
                f'{sorted(_ACTIVATIONS)}; layer {layer.name} uses '
                f'{name!r}.')
        return _ACTIVATIONS[name]

    def invalidate(self) -> None:
        """Forgets the cached weights (call after they change)."""
        self._weights = None

    def __call__(self, flat_inputs: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Outputs [B, *leaf shape] per output leaf, float32."""
        if self._weights is None:
            self._weights = [(np.asarray(layer.kernel), np.asarray(layer.bias))
                             for layer in self._hidden + self._heads]
        batch_size = len(flat_inputs[0])
        features = np.concatenate(
            [np.asarray(x, np.float32).reshape(batch_size, -1)
             for x in flat_inputs], axis=1)
        n_hidden = len(self._hidden)
        for (kernel, bias), activation in zip(self._weights[:n_hidden],
                                              self._activations):
            features = activation(features @ kernel + bias)
        return [activation(features @ kernel + bias).reshape(
                    (batch_size,) + shape)
                for (kernel, bias), activation, shape in zip(
                    self._weights[n_hidden:], self._activations[n_hidden:],
                    self._shapes)]
