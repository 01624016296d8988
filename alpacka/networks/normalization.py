"""Batch Renormalization (Ioffe 2017), a Keras layer, and its maths.

Batch Renormalization ("Batch Renormalization: Towards Reducing Minibatch
Dependence in Batch-Normalized Models") normalises a batch with its own
statistics, as batch normalisation does, then corrects the result towards
what the moving statistics would give, so that training and inference see
the same function once the moving statistics have settled:

    x_hat = (x - mu_B) / sigma_B * r + d,     y = gamma * x_hat + beta
    r = clip(sigma_B / sigma, 1 / r_max, r_max)           (no gradient)
    d = clip((mu_B - mu) / sigma, -d_max, d_max)          (no gradient)

with ``sigma_B = sqrt(var_B + eps)``, ``sigma = sqrt(var + eps)`` and the
moving statistics ``mu``, ``var`` (exponential averages of the batch mean
and biased batch variance). During a warm-up of ``warmup_steps`` training
calls r = 1 and d = 0: plain batch normalisation (as CrossQ's
implementations do, instead of the paper's gradual relaxation of r_max and
d_max). Inference uses the moving statistics alone:
``y = gamma * (x - mu) / sigma + beta``.

The maths is in the functions below; they use only arithmetic (and an
``ops`` module where they need more), so the numpy inference of
``numpy_mlp`` evaluates the same ``normalize`` as the layer. TensorFlow is
never imported here: the layer class is made from the keras module on first
use (``batch_renormalization``).
"""

import functools
from typing import Any, Tuple

# CrossQ's settings (Bhatt et al. 2024, as in its reference implementations).
DEFAULT_MOMENTUM = 0.99
DEFAULT_EPSILON = 1e-3
DEFAULT_R_MAX = 3.0
DEFAULT_D_MAX = 5.0
DEFAULT_WARMUP_STEPS = 100_000
# float32 counts training calls exactly up to here (the warm-up must end
# before it).
MAX_WARMUP_STEPS = 2 ** 24


def normalize(x: Any, mean: Any, variance: Any, gamma: Any, beta: Any,
              epsilon: float) -> Any:
    """``gamma * (x - mean) / sqrt(variance + epsilon) + beta``.

    Numpy arrays or tensors alike. Args are broadcast: x [B, D], the rest
    [D] (or [B, 1] for layer normalisation's per-row statistics).
    """
    return gamma * (x - mean) / (variance + epsilon) ** 0.5 + beta


def layer_norm_numpy(x: Any, gamma: Any, beta: Any, epsilon: float) -> Any:
    """Layer normalisation of x [B, D] over its features, in numpy."""
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return normalize(x, mean, variance, gamma, beta, epsilon)


def renorm_corrections(ops: Any, batch_mean: Any, batch_std: Any,
                       moving_mean: Any, moving_std: Any, r_max: float,
                       d_max: float) -> Tuple[Any, Any]:
    """The corrections ``r`` and ``d`` [D] of Batch Renormalization.

    ``r = clip(sigma_B / sigma, 1/r_max, r_max)``,
    ``d = clip((mu_B - mu) / sigma, -d_max, d_max)``, both without gradient.

    Args:
        ops: keras.ops (or any module with clip and stop_gradient).
        batch_mean: mu_B [D].
        batch_std: sigma_B = sqrt(var_B + eps) [D].
        moving_mean: mu [D].
        moving_std: sigma = sqrt(var + eps) [D].
        r_max: Bound of r (and of 1/r).
        d_max: Bound of |d|.

    Returns:
        ``(r, d)``.
    """
    r = ops.clip(batch_std / moving_std, 1.0 / r_max, r_max)
    d = ops.clip((batch_mean - moving_mean) / moving_std, -d_max, d_max)
    return ops.stop_gradient(r), ops.stop_gradient(d)


def renormalize(x: Any, batch_mean: Any, batch_std: Any, r: Any, d: Any,
                gamma: Any, beta: Any) -> Any:
    """Training-mode output ``gamma * ((x - mu_B) / sigma_B * r + d) + beta``."""
    return gamma * ((x - batch_mean) / batch_std * r + d) + beta


def moving_average(old: Any, new: Any, momentum: float) -> Any:
    """``momentum * old + (1 - momentum) * new``: a moving statistic's update."""
    return momentum * old + (1.0 - momentum) * new


@functools.lru_cache(maxsize=None)
def _layer_class(keras: Any) -> type:
    """The BatchRenormalization layer class (made once per keras module)."""
    ops = keras.ops

    class BatchRenormalization(keras.layers.Layer):
        """Batch Renormalization over the last axis of [B, D] inputs.

        Weights, in this order (numpy_mlp relies on it): gamma, beta,
        moving_mean, moving_variance, steps (training calls so far, float32).
        ``training=True`` normalises with the batch's statistics (corrected
        by r and d after the warm-up) and updates the moving statistics;
        otherwise the moving statistics are used and nothing changes.
        """

        def __init__(self, momentum: float = DEFAULT_MOMENTUM,
                     epsilon: float = DEFAULT_EPSILON,
                     r_max: float = DEFAULT_R_MAX,
                     d_max: float = DEFAULT_D_MAX,
                     warmup_steps: int = DEFAULT_WARMUP_STEPS, **kwargs):
            super().__init__(**kwargs)
            # Made by build(), once the width is known.
            self.gamma = self.beta = self.moving_mean = None
            self.moving_variance = self.steps = None
            self.momentum = float(momentum)
            self.epsilon = float(epsilon)
            self.r_max = float(r_max)
            self.d_max = float(d_max)
            self.warmup_steps = int(warmup_steps)

        def build(self, input_shape):
            """Makes the weights for inputs [B, D]."""
            shape = (int(input_shape[-1]),)
            self.gamma = self.add_weight(shape=shape, initializer='ones',
                                         name='gamma')
            self.beta = self.add_weight(shape=shape, initializer='zeros',
                                        name='beta')
            self.moving_mean = self.add_weight(
                shape=shape, initializer='zeros', trainable=False,
                name='moving_mean')
            self.moving_variance = self.add_weight(
                shape=shape, initializer='ones', trainable=False,
                name='moving_variance')
            self.steps = self.add_weight(shape=(), initializer='zeros',
                                         trainable=False, name='steps')

        def call(self, inputs, training=None):
            """Normalises inputs [B, D] (see the class docstring)."""
            if not training:
                return normalize(inputs, self.moving_mean,
                                 self.moving_variance, self.gamma, self.beta,
                                 self.epsilon)
            batch_mean = ops.mean(inputs, axis=0)
            batch_variance = ops.var(inputs, axis=0)
            batch_std = ops.sqrt(batch_variance + self.epsilon)
            r, d = renorm_corrections(
                ops, batch_mean, batch_std, self.moving_mean,
                ops.sqrt(self.moving_variance + self.epsilon), self.r_max,
                self.d_max)
            warm = ops.cast(self.steps >= self.warmup_steps, inputs.dtype)
            # Plain batch normalisation (r = 1, d = 0) during the warm-up.
            r = warm * r + (1.0 - warm)
            d = warm * d
            outputs = renormalize(inputs, batch_mean, batch_std, r, d,
                                  self.gamma, self.beta)
            self.moving_mean.assign(moving_average(
                self.moving_mean, batch_mean, self.momentum))
            self.moving_variance.assign(moving_average(
                self.moving_variance, batch_variance, self.momentum))
            self.steps.assign(self.steps + 1.0)
            return outputs

        def compute_output_shape(self, input_shape):
            """The input's shape."""
            return input_shape

        def get_config(self):
            """The layer's arguments."""
            return dict(super().get_config(), momentum=self.momentum,
                        epsilon=self.epsilon, r_max=self.r_max,
                        d_max=self.d_max, warmup_steps=self.warmup_steps)

    return BatchRenormalization


def batch_renormalization(keras: Any, **kwargs) -> Any:
    """A BatchRenormalization layer (see the module docstring).

    Args:
        keras: The keras module.
        **kwargs: momentum, epsilon, r_max, d_max, warmup_steps, and Keras
            layer arguments (name).

    Returns:
        A keras layer mapping [B, D] to [B, D].
    """
    return _layer_class(keras)(**kwargs)
