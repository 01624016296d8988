"""Tests of KerasNetwork's target weights and of its checkpoint formats."""

import numpy as np
import pytest

from alpacka import data
from alpacka.networks import keras_network
from alpacka.utils import pickle_files

_SIGNATURE = data.NetworkSignature(
    data.TensorSignature((4,)),
    {'value': data.TensorSignature((1,)), 'policy': data.TensorSignature((2,))})
_INPUTS = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)


def _network(**kwargs):
    kwargs.setdefault('seed', 0)
    return keras_network.KerasNetwork(_SIGNATURE, learning_rate=0.01, **kwargs)


def _train(network, n_steps=3):
    batch = (_INPUTS, {'value': np.ones((7, 1), np.float32),
                       'policy': np.ones((7, 2), np.float32)})
    network.train(lambda: iter([batch] * n_steps), n_steps)


def _assert_outputs_equal(first, second):
    for head in ('value', 'policy'):
        np.testing.assert_array_equal(first[head], second[head])


@pytest.mark.parametrize('numpy_inference', [False, True])
def test_target_is_a_hard_copy_that_training_leaves_alone(numpy_inference):
    network = _network(numpy_inference=numpy_inference)
    with pytest.raises(ValueError, match='update_target'):
        network.predict_target(_INPUTS)
    network.update_target()
    before = network.predict(_INPUTS)
    _assert_outputs_equal(network.predict_target(_INPUTS), before)
    _train(network)
    _assert_outputs_equal(network.predict_target(_INPUTS), before)
    assert not np.allclose(network.predict(_INPUTS)['value'], before['value'])
    network.update_target()
    _assert_outputs_equal(network.predict_target(_INPUTS),
                          network.predict(_INPUTS))


def test_target_weights_are_not_params():
    network = _network()
    n_params = len(network.params)
    network.update_target()
    assert len(network.params) == n_params
    assert len(network.target_params) == n_params


def test_checkpoint_holds_targets_and_clone_copies_them(tmp_path):
    network = _network(numpy_inference=True)
    network.update_target()
    target_outputs = network.predict_target(_INPUTS)
    _train(network)
    path = str(tmp_path / 'network.pkl')
    network.save(path)
    assert pickle_files.load_pickle(path)['format'] == 2
    restored = _network(seed=3, numpy_inference=True)
    restored.restore(path)
    _assert_outputs_equal(restored.predict_target(_INPUTS), target_outputs)
    _assert_outputs_equal(restored.predict(_INPUTS), network.predict(_INPUTS))
    _assert_outputs_equal(network.clone().predict_target(_INPUTS),
                          target_outputs)


def test_format_1_checkpoint_restores_without_targets(tmp_path):
    network = _network()
    _train(network)
    path = str(tmp_path / 'old.pkl')
    pickle_files.save_pickle(path, {
        'format': 1, 'params': network.params,
        'optimizer': network._optimizer_state()})  # pylint: disable=protected-access
    restored = _network(seed=5)
    restored.update_target()
    restored.restore(path)
    assert restored.target_params is None
    _assert_outputs_equal(restored.predict(_INPUTS), network.predict(_INPUTS))
    pickle_files.save_pickle(path, {'format': 7, 'params': network.params})
    with pytest.raises(ValueError, match='format 7'):
        restored.restore(path)


def test_the_original_module_keeps_its_names():
    from alpacka.networks import keras  # pylint: disable=import-outside-toplevel
    from alpacka.networks import losses, model_builders  # pylint: disable=import-outside-toplevel
    assert keras.KerasNetwork is keras_network.KerasNetwork
    assert keras.mlp is model_builders.mlp
    assert keras.convnet is model_builders.convnet
    assert (keras.categorical_crossentropy_from_logits is
            losses.categorical_crossentropy_from_logits)
