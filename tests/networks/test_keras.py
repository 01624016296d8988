"""Tests of KerasNetwork and its model functions (real TensorFlow, tiny models)."""

import os
import pickle
import subprocess
import sys

import gin
import numpy as np
import pytest

import alpacka
from alpacka import data
from alpacka.networks import keras as keras_networks
from alpacka.utils import pickle_files

_SCALAR = data.TensorSignature(shape=())
_VECTOR = data.TensorSignature(shape=(4,))
_SINGLE = data.NetworkSignature(input=_VECTOR,
                                output=data.TensorSignature(shape=(2,)))
_TWO_HEADS = data.NetworkSignature(
    input=_VECTOR,
    output={'value': _SCALAR, 'logits': data.TensorSignature(shape=(3,))})
_SMALL_MLP = {'model_fn': keras_networks.mlp}


def _network(signature=_SINGLE, **kwargs):
    kwargs.setdefault('seed', 0)
    return keras_networks.KerasNetwork(signature, **kwargs)


def _regression_batch(batch_size=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(batch_size, 4)).astype(np.float32)
    y = np.stack([x[:, 0] + x[:, 1], x[:, 2] - x[:, 3]], axis=1)
    return x, y


def _two_head_batch(batch_size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch_size, 4)).astype(np.float32)
    targets = {'value': x.sum(axis=1),
               'logits': rng.normal(size=(batch_size, 3)).astype(np.float32)}
    return x, targets


def _repeat(batch):
    def stream():
        while True:
            yield batch
    return stream


def _assert_params_equal(params_a, params_b):
    assert len(params_a) == len(params_b)
    for a, b in zip(params_a, params_b):
        np.testing.assert_array_equal(a, b)


# -- predict -----------------------------------------------------------------

@pytest.mark.parametrize('batch_size', [1, 7])
def test_predict_single_head_shapes(batch_size):
    network = _network()
    outputs = network.predict(np.zeros((batch_size, 4), np.float32))
    assert isinstance(outputs, np.ndarray)
    assert outputs.shape == (batch_size, 2)
    assert outputs.dtype == np.float32


def test_predict_multi_head_shapes_and_nesting():
    network = _network(_TWO_HEADS)
    for batch_size in (1, 7):
        outputs = network.predict(np.zeros((batch_size, 4), np.float32))
        assert set(outputs) == {'value', 'logits'}
        assert outputs['value'].shape == (batch_size,)
        assert outputs['logits'].shape == (batch_size, 3)


def test_predict_tuple_output_and_nested_inputs():
    signature = data.NetworkSignature(
        input={'observation': _VECTOR,
               'index': data.TensorSignature(shape=(), dtype=np.int64)},
        output=(_SCALAR, data.TensorSignature(shape=(2, 3))))
    network = _network(signature, model_fn=keras_networks.mlp)
    inputs = {'observation': np.ones((5, 4), np.float32),
              'index': np.arange(5)}
    value, matrix = network.predict(inputs)
    assert value.shape == (5,)
    assert matrix.shape == (5, 2, 3)


def test_batches_of_different_sizes_agree_row_by_row():
    network = _network()
    inputs = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    batched = network.predict(inputs)
    one_by_one = np.concatenate([network.predict(row[np.newaxis])
                                 for row in inputs])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-5, atol=1e-6)


def test_convnet_predicts_on_images():
    signature = data.NetworkSignature(
        input=data.TensorSignature(shape=(6, 6, 2)),
        output=(_SCALAR, data.TensorSignature(shape=(5,))))
    network = _network(signature, model_fn=lambda sig: keras_networks.convnet(
        sig, d_conv=4, d_ff=8))
    value, logits = network.predict(np.zeros((3, 6, 6, 2), np.float32))
    assert value.shape == (3,)
    assert logits.shape == (3, 5)


def test_convnet_rejects_flat_inputs():
    with pytest.raises(ValueError, match='image-like'):
        _network(model_fn=keras_networks.convnet)


def test_wrong_input_shape_raises_clear_error():
    network = _network()
    with pytest.raises(ValueError, match=r'expected shape \(B, 4\).*got \(3, 5\)'):
        network.predict(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r'expected shape \(B, 4\).*got \(4,\)'):
        network.predict(np.zeros(4, np.float32))


def test_wrong_input_nesting_raises_clear_error():
    signature = data.NetworkSignature(input={'a': _VECTOR, 'b': _VECTOR},
                                      output=_SCALAR)
    network = _network(signature)
    with pytest.raises(ValueError, match="no leaf 'b'"):
        network.predict({'a': np.zeros((1, 4), np.float32)})


def test_model_with_wrong_head_shape_is_rejected():
    def wrong_model(signature):
        return keras_networks.mlp(signature._replace(
            output=data.TensorSignature(shape=(3,))))
    with pytest.raises(ValueError, match=r'shape \(B, 3\).*says \(B, 2\)'):
        _network(model_fn=wrong_model)


# -- params, clone, seeds ----------------------------------------------------

def test_params_round_trip_through_pickle():
    source = _network(seed=1)
    target = _network(seed=2)
    inputs = np.ones((3, 4), np.float32)
    assert not np.allclose(source.predict(inputs), target.predict(inputs))
    target.params = pickle.loads(pickle.dumps(source.params))
    _assert_params_equal(target.params, source.params)
    np.testing.assert_array_equal(target.predict(inputs), source.predict(inputs))


def test_params_setter_validates_count_and_shapes():
    network = _network()
    params = network.params
    with pytest.raises(ValueError, match='weight arrays, got'):
        network.params = params[:-1]
    params[0] = np.zeros((5, 5), np.float32)
    with pytest.raises(ValueError, match=r'weight 0 .* has shape'):
        network.params = params


def test_clone_has_equal_params_and_predictions():
    network = _network(_TWO_HEADS)
    network.train(_repeat(_two_head_batch()), n_steps=3)
    clone = network.clone()
    assert isinstance(clone, keras_networks.KerasNetwork)
    _assert_params_equal(clone.params, network.params)
    inputs = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(clone.predict(inputs)['logits'],
                                  network.predict(inputs)['logits'])


def test_seed_makes_initialisation_reproducible():
    _assert_params_equal(_network(seed=5).params, _network(seed=5).params)
    assert not np.allclose(_network(seed=5).params[0], _network(seed=6).params[0])


# -- training ------------------------------------------------------------------

def test_training_lowers_the_loss():
    network = _network(model_fn=lambda sig: keras_networks.mlp(
        sig, hidden_sizes=(16,)), learning_rate=0.01, metrics=['mae'])
    stream = _repeat(_regression_batch())
    first = network.train(stream, n_steps=5)
    for _ in range(4):
        last = network.train(stream, n_steps=50)
    assert set(first) == {'loss', 'mae'}
    assert last['loss'] < 0.2 * first['loss']


def test_multi_head_metrics_are_reported_per_head():
    network = _network(_TWO_HEADS, loss_weights={'value': 1.0, 'logits': 0.5},
                       metrics=['mae'])
    metrics = network.train(_repeat(_two_head_batch()), n_steps=2)
    assert set(metrics) == {'loss', 'loss_value', 'loss_logits',
                            'mae_value', 'mae_logits'}
    np.testing.assert_allclose(
        metrics['loss'], metrics['loss_value'] + 0.5 * metrics['loss_logits'],
        rtol=1e-4)


def test_train_stops_when_the_stream_ends():
    network = _network()
    assert not network.train(lambda: iter([]), n_steps=10)
    metrics = network.train(lambda: iter([_regression_batch()]), n_steps=10)
    assert np.isfinite(metrics['loss'])


def test_masked_head_does_not_influence_training():
    network = _network(_TWO_HEADS)
    other = network.clone()
    x, targets = _two_head_batch()
    masks = {'value': np.zeros(len(x), np.float32), 'logits': None}
    garbage = dict(targets, value=np.full(len(x), 1e3, np.float32))
    metrics = network.train(_repeat((x, targets, masks)), n_steps=5)
    other.train(_repeat((x, garbage, masks)), n_steps=5)
    assert metrics['loss_value'] == 0.0
    for a, b in zip(network.params, other.params):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_weight_decay_adds_l2_of_kernels_to_the_loss():
    kwargs = {'optimizer': 'sgd', 'learning_rate': 0.0, 'seed': 3}
    plain = _network(**kwargs)
    decayed = _network(weight_decay=0.1, **kwargs)
    batch = _regression_batch()
    kernels_l2 = sum(float(np.sum(w ** 2)) for w in plain.params if w.ndim == 2)
    difference = (decayed.train(_repeat(batch), 1)['loss'] -
                  plain.train(_repeat(batch), 1)['loss'])
    np.testing.assert_allclose(difference, 0.1 * kernels_l2, rtol=1e-4)


def test_nan_loss_raises_floating_point_error_and_keeps_weights():
    network = _network()
    before = network.params
    x, y = _regression_batch()
    y[0, 0] = np.nan
    with pytest.raises(FloatingPointError, match='step 1 .*learning rate'):
        network.train(_repeat((x, y)), n_steps=3)
    _assert_params_equal(network.params, before)


def test_wrong_target_batch_raises_clear_error():
    network = _network()
    x, y = _regression_batch()
    with pytest.raises(ValueError, match='batch dimension of 32'):
        network.train(_repeat((x, y[:5])), n_steps=1)


# -- checkpoints ---------------------------------------------------------------

def test_save_restore_continues_training_identically(tmp_path):
    path = str(tmp_path / 'network.pkl')
    batch = _regression_batch()
    network = _network(learning_rate=0.01)
    network.train(_repeat(batch), n_steps=5)
    network.save(path)

    restored = _network(learning_rate=0.01, seed=7)
    restored.restore(path)
    _assert_params_equal(restored.params, network.params)
    params_only = _network(learning_rate=0.01, seed=7)
    params_only.params = network.params

    for net in (network, restored, params_only):
        net.train(_repeat(batch), n_steps=5)
    for a, b in zip(restored.params, network.params):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # Without the optimizer state (Adam's moments), training diverges.
    assert not all(np.allclose(a, b, rtol=1e-6, atol=1e-7)
                   for a, b in zip(params_only.params, network.params))


def test_corrupt_checkpoint_raises_error_naming_the_file(tmp_path):
    path = tmp_path / 'network.pkl'
    path.write_bytes(b'not a pickle')
    with pytest.raises(pickle_files.CorruptCheckpointError, match=str(path)):
        _network().restore(str(path))


# -- Gin and imports -------------------------------------------------------------

def test_gin_configures_network_and_model_fn():
    gin.parse_config('''
        alpacka.networks.KerasNetwork.model_fn = @alpacka.networks.keras.mlp
        alpacka.networks.keras.mlp.hidden_sizes = (8, 8)
        alpacka.networks.KerasNetwork.loss = 'mean_absolute_error'
    ''')
    network = alpacka.networks.KerasNetwork(_SINGLE)
    assert [w.shape for w in network.params][:4] == [(4, 8), (8,), (8, 8), (8,)]


def _python_env():
    env = dict(os.environ)
    env.pop('TF_CPP_MIN_LOG_LEVEL', None)  # The network must quiet TF itself.
    return env


def test_importing_alpacka_does_not_import_tensorflow():
    result = subprocess.run(
        [sys.executable, '-c',
         'import sys, alpacka\n'
         'from alpacka.networks import KerasNetwork\n'
         "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
         "assert 'keras' not in sys.modules, 'keras imported'\n"],
        capture_output=True, text=True, env=_python_env(), timeout=120,
        check=False)
    assert result.returncode == 0, result.stderr


_FRESH_PROCESS_SCRIPT = """
import numpy as np
from alpacka import data
from alpacka.networks import KerasNetwork
from alpacka.utils import seeding
seeding.set_global_seed(3)
sig = data.NetworkSignature(data.TensorSignature((4,)), data.TensorSignature((2,)))
net = KerasNetwork(sig)
checksum = sum(float(np.abs(w).sum()) for w in net.params)
x = np.zeros((3, 4), np.float32)
net.predict(x)
net.train(lambda: iter([(x, np.zeros((3, 2)))]), 1)
print(repr(checksum))
"""


def test_fresh_process_is_quiet_and_follows_the_global_seed():
    def start():
        return subprocess.Popen(
            [sys.executable, '-c', _FRESH_PROCESS_SCRIPT], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=_python_env())

    # Two processes side by side (each imports TensorFlow, a few seconds).
    with start() as first, start() as second:
        outputs = [process.communicate(timeout=120) for process in (first, second)]
    for process, (_, stderr) in zip((first, second), outputs):
        assert process.returncode == 0, stderr
        assert stderr == ''
    checksums = [float(stdout) for stdout, _ in outputs]
    assert checksums[0] == checksums[1]


def test_numpy_inference_matches_tensorflow_and_follows_weight_changes(
        tmp_path):
    signature = data.NetworkSignature(
        data.TensorSignature((4,)),
        {'value': data.TensorSignature((1,)),
         'policy': data.TensorSignature((2,))})
    tf_network = keras_networks.KerasNetwork(signature, seed=0)
    np_network = keras_networks.KerasNetwork(signature, seed=0,
                                       numpy_inference=True)
    np_network.params = tf_network.params
    inputs = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)

    def assert_same():
        expected, got = tf_network.predict(inputs), np_network.predict(inputs)
        for head in ('value', 'policy'):
            assert got[head].dtype == np.float32
            np.testing.assert_allclose(got[head], expected[head], atol=1e-5)

    assert_same()
    before = np_network.predict(inputs)['value'].copy()
    batch = (inputs, {'value': np.ones((7, 1), np.float32),
                      'policy': np.ones((7, 2), np.float32)}, None)
    np_network.train(lambda: iter([batch] * 5), 5)  # Weights change ...
    assert not np.allclose(np_network.predict(inputs)['value'], before)
    tf_network.params = np_network.params  # ... and numpy follows them.
    assert_same()
    np_network.save(str(tmp_path / 'net.ckpt'))
    restored = keras_networks.KerasNetwork(signature, numpy_inference=True)
    restored.restore(str(tmp_path / 'net.ckpt'))
    np.testing.assert_allclose(restored.predict(inputs)['policy'],
                               tf_network.predict(inputs)['policy'], atol=1e-5)
    assert np_network.clone().predict(inputs)['value'].shape == (7, 1)


def test_numpy_inference_refuses_models_it_cannot_mirror():
    signature = data.NetworkSignature(data.TensorSignature((6, 6, 1)),
                                      data.TensorSignature((2,)))
    with pytest.raises(ValueError, match='numpy_inference'):
        keras_networks.KerasNetwork(signature, model_fn=keras_networks.convnet,
                              numpy_inference=True)
