"""Tests of the TensorFlow base: target weights, fit checks, numpy MLPs."""

import numpy as np
import pytest

from alpacka import data
from alpacka import networks
from alpacka.networks import numpy_mlp
from alpacka.networks import tensorflow_base
from alpacka.utils import tensorflow_import


def _variables(tf, *values):
    return [tf.Variable(np.asarray(value, np.float32)) for value in values]


def test_polyak_and_hard_updates_of_target_weights():
    tf, _ = tensorflow_import.import_tensorflow()
    sources = _variables(tf, [1.0, 2.0], [[3.0]])
    targets = tensorflow_base.TargetWeights(tf, sources)
    for source, target in zip(sources, targets.numpy()):
        np.testing.assert_array_equal(target, source.numpy())
    sources[0].assign([5.0, 6.0])
    targets.polyak_update(0.25)
    np.testing.assert_allclose(targets.numpy()[0], [2.0, 3.0])
    targets.hard_update()
    np.testing.assert_array_equal(targets.numpy()[0], [5.0, 6.0])
    targets.assign([np.zeros(2), np.ones((1, 1))], 'targets')
    np.testing.assert_array_equal(targets.numpy()[1], [[1.0]])


def test_polyak_update_runs_inside_a_compiled_function():
    tf, _ = tensorflow_import.import_tensorflow()
    sources = _variables(tf, [4.0])
    targets = tensorflow_base.TargetWeights(tf, sources, _variables(tf, [0.0]))
    tf.function(lambda: targets.polyak_update(0.5), autograph=False)()
    np.testing.assert_allclose(targets.numpy()[0], [2.0])


def test_periodic_hard_update_copies_every_k_steps():
    tf, _ = tensorflow_import.import_tensorflow()
    source = _variables(tf, [0.0])
    targets = tensorflow_base.TargetWeights(tf, source, _variables(tf, [-1.0]))
    step = tf.Variable(0, dtype=tf.int64)

    @tf.function(autograph=False)
    def update():
        source[0].assign_add([1.0])
        step.assign_add(1)
        return targets.periodic_hard_update(tf, step, 3)

    copied = [bool(update()) for _ in range(6)]
    assert copied == [False, False, True, False, False, True]
    np.testing.assert_array_equal(targets.numpy()[0], [6.0])


def test_check_fit_names_the_count_and_the_first_bad_shape():
    tf, _ = tensorflow_import.import_tensorflow()
    variables = _variables(tf, [1.0, 2.0], [[3.0]])
    with pytest.raises(ValueError, match='has 2 weight arrays, got 1 .*hint'):
        tensorflow_base.check_fit(variables, [np.zeros(2)], 'What', 'hint')
    with pytest.raises(ValueError, match=r'weight 1 .* has shape \(1, 1\), '
                                         r'got \(2,\)'):
        tensorflow_base.check_fit(variables, [np.zeros(2), np.zeros(2)],
                                  'What', 'hint')


def test_numpy_mlp_evaluates_hidden_layers_then_heads():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=shape).astype(np.float32)
               for shape in [(3, 4), (4,), (4, 2), (2,), (4, 1), (1,)]]
    mlp = numpy_mlp.NumpyMLP(['relu', 'linear', 'tanh'], [(2,), ()])
    mlp.set_weights(weights)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    hidden = np.maximum(x @ weights[0] + weights[1], 0.0)
    first, second = mlp([x])
    np.testing.assert_allclose(first, hidden @ weights[2] + weights[3],
                               rtol=1e-6)
    np.testing.assert_allclose(second, np.tanh(hidden @ weights[4] +
                                               weights[5])[:, 0], rtol=1e-6)
    assert second.shape == (5,)


def test_numpy_mlp_rereads_weights_after_invalidate():
    weights = [np.eye(2, dtype=np.float32), np.zeros(2, np.float32)]
    mlp = numpy_mlp.NumpyMLP(['linear'], [(2,)], read_weights=lambda: weights)
    x = np.array([[1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(mlp([x])[0], x)
    weights[1] = np.ones(2, np.float32)
    np.testing.assert_array_equal(mlp([x])[0], x)  # Cached ...
    mlp.invalidate()
    np.testing.assert_array_equal(mlp([x])[0], x + 1)  # ... until invalidated.
    with pytest.raises(ValueError, match='activations'):
        numpy_mlp.NumpyMLP(['swish'], [(2,)])


def test_networks_without_targets_refuse_the_target_api():
    network = networks.DummyNetwork(data.NetworkSignature(
        data.TensorSignature((1,)), data.TensorSignature((1,))))
    assert network.target_params is None
    with pytest.raises(TypeError, match='keeps no target weights'):
        network.update_target()
    with pytest.raises(TypeError, match='keeps no target weights'):
        network.predict_target(np.zeros((1, 1)))
