"""Batch Renormalization against hand computations; numpy mirrors of norms."""

import numpy as np
import pytest

from alpacka.networks import model_builders
from alpacka.networks import normalization
from alpacka.networks import numpy_mlp
from alpacka.utils import tensorflow_import

EPS = 1e-3
# Four samples of two features.
X = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 14.0], [7.0, 6.0]], np.float32)
BATCH_MEAN = np.array([4.0, 10.0])
BATCH_VAR = np.array([5.0, 8.0])  # Biased (over the 4 samples).


def _layer(**kwargs):
    _, keras = tensorflow_import.import_tensorflow()
    layer = normalization.batch_renormalization(keras, epsilon=EPS, **kwargs)
    layer.build((None, 2))
    layer.gamma.assign([2.0, 0.5])
    layer.beta.assign([1.0, -1.0])
    layer.moving_mean.assign([1.0, 10.5])
    layer.moving_variance.assign([0.25, 4.0])
    return layer


def _state(layer):
    return (layer.moving_mean.numpy(), layer.moving_variance.numpy(),
            float(layer.steps.numpy()))


def test_training_mode_corrects_by_clipped_r_and_d_and_updates_statistics():
    layer = _layer(momentum=0.9, r_max=3.0, d_max=5.0, warmup_steps=0)
    out = layer(X, training=True).numpy()
    batch_std = np.sqrt(BATCH_VAR + EPS)
    moving_std = np.sqrt(np.array([0.25, 4.0]) + EPS)
    # Feature 0: sigma_B / sigma = 4.47 is clipped to 3; (4 - 1) / 0.5 = 6
    # to 5. Feature 1: r = 1.41 and d = -0.25 are within the bounds.
    r = np.array([3.0, batch_std[1] / moving_std[1]])
    d = np.array([5.0, (10.0 - 10.5) / moving_std[1]])
    expected = (np.array([2.0, 0.5]) * ((X - BATCH_MEAN) / batch_std * r + d)
                + np.array([1.0, -1.0]))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    mean, variance, steps = _state(layer)
    np.testing.assert_allclose(mean, 0.9 * np.array([1.0, 10.5]) +
                               0.1 * BATCH_MEAN, rtol=1e-6)
    np.testing.assert_allclose(variance, 0.9 * np.array([0.25, 4.0]) +
                               0.1 * BATCH_VAR, rtol=1e-6)
    assert steps == 1.0


def test_warm_up_is_plain_batch_normalization():
    layer = _layer(warmup_steps=2)
    expected = (np.array([2.0, 0.5]) * (X - BATCH_MEAN) /
                np.sqrt(BATCH_VAR + EPS) + np.array([1.0, -1.0]))
    for _ in range(2):  # Steps 0 and 1 are the warm-up.
        np.testing.assert_allclose(layer(X, training=True).numpy(), expected,
                                   rtol=1e-5, atol=1e-5)
    # Step 2 corrects towards the moving statistics (r, d != 1, 0 here).
    assert not np.allclose(layer(X, training=True).numpy(), expected,
                           atol=1e-2)
    assert _state(layer)[2] == 3.0


def test_inference_mode_uses_moving_statistics_and_changes_nothing():
    layer = _layer()
    before = _state(layer)
    expected = (np.array([2.0, 0.5]) * (X - np.array([1.0, 10.5])) /
                np.sqrt(np.array([0.25, 4.0]) + EPS) + np.array([1.0, -1.0]))
    for training in (False, None):
        np.testing.assert_allclose(layer(X, training=training).numpy(),
                                   expected, rtol=1e-5, atol=1e-5)
    for old, new in zip(before, _state(layer)):
        np.testing.assert_array_equal(old, new)


def test_gradient_flows_through_batch_statistics_not_d():
    tf, _ = tensorflow_import.import_tensorflow()
    layer = _layer(warmup_steps=0)
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(layer(x, training=True))
    # sum_b (x_b - mu_B) / sigma_B is 0 whatever x: through the batch
    # statistics the gradient is zero. A d with gradient would add
    # 1 / sigma per sample.
    np.testing.assert_allclose(tape.gradient(total, x).numpy(), 0.0,
                               atol=1e-4)


@pytest.mark.parametrize('kind', ['layer', 'batch_renorm'])
def test_numpy_mlp_matches_keras_model_in_inference_mode(kind):
    _, keras = tensorflow_import.import_tensorflow()
    keras.utils.set_random_seed(0)
    model = model_builders.fan_in_uniform_mlp(
        keras, [(3,), (2,)], 4, hidden_sizes=(8, 5), name='m',
        normalization=kind, batch_renorm_kwargs={'momentum': 0.5})
    rng = np.random.default_rng(0)
    inputs = [rng.normal(2.0, 3.0, (32, 3)).astype(np.float32),
              rng.normal(-1.0, 0.5, (32, 2)).astype(np.float32)]
    model(inputs, training=True)  # Moves the statistics off their start.
    gammas = [w for w in model.weights if w.name == 'gamma']
    for index, gamma in enumerate(gammas):
        gamma.assign(gamma + 0.1 * (index + 1))
    epsilon = (model_builders.LAYER_NORM_EPSILON if kind == 'layer'
               else normalization.DEFAULT_EPSILON)
    mirror = numpy_mlp.NumpyMLP(['relu', 'relu', 'linear'], [(4,)],
                                read_weights=model.get_weights,
                                normalization=kind, epsilon=epsilon)
    test_inputs = [rng.normal(size=(6, 3)), rng.normal(size=(6, 2))]
    np.testing.assert_allclose(
        mirror(test_inputs)[0],
        model([x.astype(np.float32) for x in test_inputs],
              training=False).numpy(), rtol=1e-4, atol=1e-5)
