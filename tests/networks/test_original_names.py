"""The original project's network names: convnet_mnist, Gin optimizers,
train_callbacks."""

import subprocess
import sys

import gin
import numpy as np
import pytest

from alpacka import data
from alpacka import networks
from alpacka.networks import keras_optimizers

SIGNATURE = data.NetworkSignature(
    input=data.TensorSignature(shape=(8, 8, 7), dtype=np.float32),
    output=data.TensorSignature(shape=(1,), dtype=np.float32))


def _batches(n_steps=3, batch_size=4):
    rng = np.random.default_rng(0)

    def stream():
        for _ in range(n_steps):
            yield (rng.random((batch_size, 8, 8, 7), np.float32),
                   rng.random((batch_size, 1), np.float32))
    return stream


def test_convnet_mnist_has_the_original_layout():
    network = networks.KerasNetwork(
        SIGNATURE, model_fn=lambda signature: networks.keras.convnet_mnist(
            signature, n_conv_layers=3, d_conv=8, d_ff=16), seed=0)
    model = network._model  # pylint: disable=protected-access
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count('Conv2D') == 3
    assert 'MaxPooling2D' in kinds
    convs = [layer for layer in model.layers if type(layer).__name__ == 'Conv2D']
    assert all(layer.filters == 8 and layer.kernel_size == (3, 3)
               for layer in convs)
    assert model.get_layer('max_pool').output.shape[1:3] == (4, 4)
    assert model.get_layer('dense').units == 16
    assert network.predict(np.zeros((5, 8, 8, 7), np.float32)).shape == (5, 1)


def test_original_optimizer_bindings_make_a_fresh_keras_optimizer():
    with gin.unlock_config():
        gin.clear_config()
        gin.parse_config("""
            KerasNetwork.model_fn = @alpacka.networks.keras.convnet_mnist
            convnet_mnist.n_conv_layers = 1
            convnet_mnist.d_conv = 4
            convnet_mnist.d_ff = 8
            convnet_mnist.activation = 'relu'
            convnet_mnist.output_activation = None
            KerasNetwork.optimizer = @tf.keras.optimizers.RMSprop()
            RMSprop.learning_rate = 0.0025
            RMSprop.rho = 0.8
            KerasNetwork.metrics = ['mae', 'mse']
            KerasNetwork.weight_decay = 0.001
            KerasNetwork.train_callbacks = None
        """)
    try:
        first = networks.KerasNetwork(SIGNATURE)
        second = networks.KerasNetwork(SIGNATURE)
    finally:
        gin.clear_config()
    optimizer = first._optimizer  # pylint: disable=protected-access
    assert type(optimizer).__name__ == 'RMSprop'
    assert float(optimizer.learning_rate) == pytest.approx(0.0025)
    assert optimizer.rho == pytest.approx(0.8)
    assert optimizer is not second._optimizer  # pylint: disable=protected-access
    metrics = first.train(_batches(), 3)
    assert {'loss', 'mae', 'mse'} <= set(metrics)


def test_optimizer_specs_do_not_import_tensorflow():
    code = ('import alpacka, sys, gin\n'
            'gin.parse_config("X = @tf.keras.optimizers.Adam()")\n'
            'spec = alpacka.networks.keras_optimizers.Adam(learning_rate=0.1)\n'
            'assert spec.kwargs["learning_rate"] == 0.1, spec\n'
            'assert "tensorflow" not in sys.modules\n')
    subprocess.run([sys.executable, '-c', code], check=True)
    assert keras_optimizers.SGD(momentum=0.5) == keras_optimizers.OptimizerSpec(
        'SGD', {'learning_rate': 0.01, 'momentum': 0.5, 'nesterov': False})


def test_train_callbacks_see_each_train_call_as_an_epoch():
    from alpacka.utils import tensorflow_import  # pylint: disable=import-outside-toplevel
    _, keras = tensorflow_import.import_tensorflow()

    class Recorder(keras.callbacks.Callback):
        """Records the epoch hooks."""

        def __init__(self):
            super().__init__()
            self.events = []

        def on_epoch_begin(self, epoch, logs=None):
            self.events.append(('begin', epoch))

        def on_epoch_end(self, epoch, logs=None):
            self.events.append(('end', epoch, sorted(logs)))

    recorder = Recorder()
    # A scheduler halving the rate each epoch acts on the network's optimizer.
    scheduler = keras.callbacks.LearningRateScheduler(
        lambda epoch, rate: 0.01 * 0.5 ** epoch)
    network = networks.KerasNetwork(
        SIGNATURE, model_fn=lambda signature: networks.keras.convnet_mnist(
            signature, n_conv_layers=1, d_conv=4, d_ff=8),
        optimizer='sgd', metrics=['mae'],
        train_callbacks=[lambda: recorder, scheduler], seed=0)
    for _ in range(2):
        network.train(_batches(), 2)
    assert recorder.events == [('begin', 0), ('end', 0, ['loss', 'mae']),
                               ('begin', 1), ('end', 1, ['loss', 'mae'])]
    optimizer = network._optimizer  # pylint: disable=protected-access
    assert float(optimizer.learning_rate) == pytest.approx(0.005)
    with pytest.raises(TypeError, match='train_callbacks'):
        networks.KerasNetwork(SIGNATURE, train_callbacks=['tensorboard'])
