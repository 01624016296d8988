"""Keras models of Q-networks: a torso (MLP or conv net) and a Q head.

Torsos (``QNetwork.torso``):

* ``'mlp'``: observations flattened, then relu Dense layers of
  ``hidden_sizes`` (named ``hidden_<i>``, so numpy can mirror them);
* ``'nature'``: the Nature DQN conv net (Mnih et al. 2015): conv 32 8x8
  stride 4, conv 64 4x4 stride 2, conv 64 3x3 stride 1, Dense 512, all relu;
* ``'minatar'``: MinAtar's DQN baseline (Young and Tian 2019): one conv 16
  3x3 stride 1 (valid padding), Dense 128, relu;
* or a callable ``torso(keras, x) -> features`` on the float32 image batch
  [B, H, W, C] (for conv torsos) — see ``image_input``.

Conv torsos read images as [H, W, C]. Frame stacks (``alpacka.envs.FrameStack``
puts the k frames on a leading axis) are folded into channels: ``(k, H, W)``
becomes ``(H, W, k)`` and ``(k, H, W, C)`` becomes ``(H, W, k * C)``. Integer
observations are taken for pixels (0 to 255) and scaled by 1/255 inside the
model, so replays and requests carry them as uint8; other integer
observations, such as MinAtar's 0/1 channels, need ``QNetwork.input_scale =
1.0``.

Heads: ``n_actions`` linear Q values, or dueling (Wang et al. 2016): a value
and ``n_actions`` advantages from the same features, combined by
``q_losses.dueling_q_values``.
"""

from typing import Any, Callable, Literal, Sequence, Tuple, Union

import numpy as np

from alpacka.networks import q_losses

Torso = Union[Literal['mlp', 'nature', 'minatar'], Callable]
# How a conv torso reads a rank-3 observation: 'auto' takes (k, H, W) when
# the first axis is smaller than the other two (a stack of k frames), else
# (H, W, C).
ConvLayout = Literal['auto', 'hwc', 'khw']

# Names of the head layers (numpy inference finds them by name).
Q_HEAD = 'q'
VALUE_HEAD = 'value'
ADVANTAGE_HEAD = 'advantage'


def is_conv_torso(torso: Torso) -> bool:
    """Whether the torso reads images (everything but 'mlp')."""
    return torso != 'mlp'


def image_input(keras: Any, x: Any, shape: Tuple[int, ...],
                layout: ConvLayout = 'auto') -> Any:
    """An observation batch as float32 images [B, H, W, C] (see the module).

    Args:
        keras: The keras module.
        x: The input tensor [B, *shape].
        shape: The observation shape: (H, W), (H, W, C), (k, H, W) or
            (k, H, W, C).
        layout: How to read a rank-3 shape (see ConvLayout).

    Returns:
        The float32 image tensor.

    Raises:
        ValueError: the shape is not image-like.
    """
    ops = keras.ops
    rank = len(shape)
    if rank == 2:
        return ops.expand_dims(x, -1)
    if rank == 3:
        stacked = layout == 'khw' or (
            layout == 'auto' and shape[0] < min(shape[1], shape[2]))
        return ops.transpose(x, (0, 2, 3, 1)) if stacked else x
    if rank == 4:
        k, height, width, channels = shape
        x = ops.transpose(x, (0, 2, 3, 1, 4))
        return ops.reshape(x, (-1, height, width, k * channels))
    raise ValueError(
        f'A conv torso needs image observations (H, W), (H, W, C), (k, H, W) '
        f'or (k, H, W, C); got shape {shape}. Use QNetwork.torso="mlp".')


def nature_torso(keras: Any, images: Any) -> Any:
    """The Nature DQN conv net (see the module docstring)."""
    x = images
    for filters, kernel, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
        x = keras.layers.Conv2D(filters, kernel, strides=stride,
                                activation='relu')(x)
    x = keras.layers.Flatten()(x)
    return keras.layers.Dense(512, activation='relu')(x)


def minatar_torso(keras: Any, images: Any) -> Any:
    """MinAtar's DQN baseline torso (see the module docstring)."""
    x = keras.layers.Conv2D(16, 3, strides=1, activation='relu')(images)
    x = keras.layers.Flatten()(x)
    return keras.layers.Dense(128, activation='relu')(x)


_CONV_TORSOS = {'nature': nature_torso, 'minatar': minatar_torso}


def torso_features(keras: Any, x: Any, shape: Tuple[int, ...],
                   torso: Torso, hidden_sizes: Sequence[int],
                   conv_layout: ConvLayout, input_scale: float) -> Any:
    """The torso's features [B, D] of an observation batch x [B, *shape]."""
    x = keras.ops.cast(x, 'float32')
    if input_scale != 1.0:
        x = x * input_scale
    if not is_conv_torso(torso):
        x = keras.layers.Flatten()(x) if len(shape) != 1 else x
        for index, size in enumerate(hidden_sizes):
            x = keras.layers.Dense(size, activation='relu',
                                   name=f'hidden_{index}')(x)
        return x
    images = image_input(keras, x, shape, conv_layout)
    build = _CONV_TORSOS.get(torso, torso)
    return build(keras, images)


def q_head(keras: Any, features: Any, n_actions: int, dueling: bool) -> Any:
    """Q values [B, n_actions] from the features (plain or dueling)."""
    if not dueling:
        return keras.layers.Dense(n_actions, name=Q_HEAD)(features)
    value = keras.layers.Dense(1, name=VALUE_HEAD)(features)
    advantages = keras.layers.Dense(n_actions, name=ADVANTAGE_HEAD)(features)
    return q_losses.dueling_q_values(_KerasOps(keras), value, advantages)


class _KerasOps:
    """The one tf-like op dueling_q_values needs, from keras.ops."""

    def __init__(self, keras: Any):
        self._ops = keras.ops

    def reduce_mean(self, x: Any, axis: int, keepdims: bool) -> Any:
        """tf.reduce_mean's signature on keras.ops.mean."""
        return self._ops.mean(x, axis=axis, keepdims=keepdims)


def default_input_scale(dtype: Any) -> float:
    """1/255 for integer (pixel) observations, 1 for float ones."""
    return 1.0 / 255.0 if np.issubdtype(np.dtype(dtype), np.integer) else 1.0


def build_q_model(keras: Any, observation_shape: Tuple[int, ...],
                  observation_dtype: Any, n_actions: int, torso: Torso,
                  hidden_sizes: Sequence[int], dueling: bool,
                  conv_layout: ConvLayout, input_scale: float,
                  name: str) -> Any:
    """A keras.Model from observations [B, *shape] to Q values [B, n_actions].

    Args:
        keras: The keras module.
        observation_shape: One observation's shape.
        observation_dtype: Its dtype (the model's input dtype).
        n_actions: Number of actions.
        torso: See the module docstring.
        hidden_sizes: Widths of the 'mlp' torso's layers.
        dueling: Dueling head.
        conv_layout: See ConvLayout.
        input_scale: Factor applied to the float32 observations first.
        name: The model's name.

    Returns:
        The model.
    """
    inputs = keras.Input(observation_shape, dtype=np.dtype(observation_dtype).name)
    features = torso_features(keras, inputs, observation_shape, torso,
                              hidden_sizes, conv_layout, input_scale)
    outputs = q_head(keras, features, n_actions, dueling)
    return keras.Model(inputs=inputs, outputs=outputs, name=name)
