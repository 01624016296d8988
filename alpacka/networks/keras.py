"""KerasNetwork: a TrainableNetwork backed by a Keras 3 model on TensorFlow.

TensorFlow and Keras are imported when the first KerasNetwork is built (never
by ``import alpacka``), with TensorFlow's start-up log noise kept off the
screen.

Conventions shared by the network and the ``model_fn`` that builds its model:

* The model takes the leaves of ``network_signature.input`` in order: one
  tensor [B, ...] when the input is a single TensorSignature, otherwise a
  list of tensors.
* The model returns one head per leaf of ``network_signature.output``: a
  single tensor, a flat list in leaf order, or a structure nested like the
  output signature.
* Leaves are ordered as ``alpacka.data.nested_map`` visits them (tuple and
  list order, dict insertion order). A head is named by its path in the
  output signature (dict keys, namedtuple fields, tuple indices) joined with
  ``_``; a single TensorSignature head has no name.
"""

import itertools
import math
import random
from typing import (Any, Callable, Dict, Iterator, List, NamedTuple, Optional,
                    Sequence, Tuple)

import gin
import numpy as np

from alpacka import data
from alpacka.networks import core
from alpacka.networks import numpy_mlp
from alpacka.utils import pickle_files, tensorflow_import

# Bumped when the layout of KerasNetwork checkpoints changes.
_CHECKPOINT_FORMAT = 1


# --------------------------------------------------------------------------
# Nested signatures.
# --------------------------------------------------------------------------

class _Leaf(NamedTuple):
    """One TensorSignature inside a nested signature."""
    path: tuple      # Keys / indices leading from the root to the leaf.
    name: str        # Path joined with '_' ('' for a root leaf).
    signature: data.TensorSignature



def _signature_leaves(signature: Any) -> List[_Leaf]:
    """Lists the TensorSignature leaves of a nested signature, in order.

    Args:
        signature: A TensorSignature or a tuple/list/dict/namedtuple of them.

    Returns:
        The leaves, ordered as data.nested_map visits them.
    """
    leaves = []

    def visit(node, path, names):
        if node is None:
            return
        if data.is_signature(node):
            leaves.append(_Leaf(path, '_'.join(names), node))
        elif isinstance(node, tuple) and hasattr(node, '_fields'):
            for index, (field, child) in enumerate(zip(node._fields, node)):
                visit(child, path + (index,), names + (field,))
        elif isinstance(node, (tuple, list)):
            for index, child in enumerate(node):
                visit(child, path + (index,), names + (str(index),))
        elif isinstance(node, dict):
            for key, child in node.items():
                visit(child, path + (key,), names + (str(key),))
        else:
            raise TypeError(
                f'A network signature may contain TensorSignatures, tuples, '
                f'lists and dicts; got {node!r}.')

    visit(signature, (), ())
    return leaves


def _flatten_like(leaves: Sequence[_Leaf], value: Any, what: str) -> list:
    """Reads the leaves of value at the paths of a signature's leaves.

    Args:
        leaves: The signature's leaves (see _signature_leaves).
        value: A structure nested like the signature.
        what: What value is, for error messages (e.g. 'inputs').

    Returns:
        The values at the leaves' paths, in order.

    Raises:
        ValueError: value is not nested like the signature.
    """
    flat = []
    for leaf in leaves:
        node = value
        try:
            for key in leaf.path:
                node = node[key]
        except (KeyError, IndexError, TypeError) as error:
            raise ValueError(
                f'The {what} are not nested like the network signature: '
                f'found no leaf {leaf.name!r} (path {leaf.path}).') from error
        flat.append(node)
    return flat


def _pack_like(signature: Any, flat: Sequence[Any]) -> Any:
    """Inverse of _flatten_like: puts flat values into the signature's nesting."""
    iterator = iter(flat)
    return data.nested_map(lambda _: next(iterator), signature,
                           stop_fn=data.is_signature)


def _per_head(value: Any, leaves: Sequence[_Leaf], signature: Any,
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
            return _flatten_like(leaves, value, what)
        except ValueError as error:
            raise ValueError(
                f'{what} must be one value for all heads or nested like the '
                f'output signature {signature}; got {value!r}.') from error
    return [value] * len(leaves)


# --------------------------------------------------------------------------
# Model functions.
# --------------------------------------------------------------------------

def _keras_inputs(keras, network_signature: data.NetworkSignature) -> list:
    """One keras.Input per input leaf."""
    return [keras.Input(shape=tuple(leaf.signature.shape),
                        dtype=np.dtype(leaf.signature.dtype).name,
                        name=f'input_{leaf.name}' if leaf.name else 'input')
            for leaf in _signature_leaves(network_signature.input)]


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
    leaves = _signature_leaves(network_signature.output)
    activations = _per_head(output_activation, leaves,
                            network_signature.output, 'output_activation')
    initializer = 'zeros' if output_zero_init else 'glorot_uniform'
    outputs = []
    for leaf, activation in zip(leaves, activations):
        shape = tuple(leaf.signature.shape)
        suffix = f'_{leaf.name}' if leaf.name else ''
        head = keras.layers.Dense(
            max(math.prod(shape), 1), activation=activation,
            kernel_initializer=initializer, name='head' + suffix)(features)
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


@gin.configurable(module='alpacka.networks.keras')
def mlp(network_signature: data.NetworkSignature,
        hidden_sizes: Sequence[int] = (32,),
        activation: Any = 'relu',
        output_activation: Any = None,
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


@gin.configurable(module='alpacka.networks.keras')
def convnet(network_signature: data.NetworkSignature,
            d_conv: int = 16,
            d_ff: int = 64,
            n_conv_layers: int = 2,
            kernel_size: Tuple[int, int] = (3, 3),
            strides: Tuple[int, int] = (1, 1),
            activation: Any = 'relu',
            global_average_pooling: bool = False,
            output_activation: Any = None,
            output_zero_init: bool = False) -> Any:
    """A small convolutional network for image-like inputs [H, W, C].

    Conv layers (``same`` padding), then flattening (or global average
    pooling), one dense layer of d_ff units and one dense head per output
    leaf.

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
                                name=f'conv_{index}')(x)
    if global_average_pooling:
        x = keras.layers.GlobalAveragePooling2D()(x)
    else:
        x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(d_ff, activation=activation, name='dense')(x)
    outputs = _heads(keras, x, network_signature, output_activation,
                     output_zero_init)
    return keras.Model(inputs=inputs[0], outputs=outputs)


# --------------------------------------------------------------------------
# Losses.
# --------------------------------------------------------------------------

@gin.configurable(module='alpacka.networks.keras')
def categorical_crossentropy_from_logits(y_true: Any, y_pred: Any) -> Any:
    """Cross-entropy of target distributions under softmax(logits): [B].

    For heads that output logits, e.g. a policy trained towards MCTS visit
    distributions: ``KerasNetwork.loss = {'value': 'mean_squared_error',
    'policy': @alpacka.networks.keras.categorical_crossentropy_from_logits}``.

    Args:
        y_true: [B, n] target probabilities.
        y_pred: [B, n] logits.
    """
    _, keras = tensorflow_import.import_tensorflow()
    return keras.losses.categorical_crossentropy(y_true, y_pred,
                                                 from_logits=True)


# --------------------------------------------------------------------------
# The network.
# --------------------------------------------------------------------------

def _make_optimizer(keras, optimizer: Any, learning_rate: Optional[float]) -> Any:
    """A fresh Keras optimizer from a name, an instance or a factory."""
    if isinstance(optimizer, str):
        instance = keras.optimizers.get(optimizer)
    elif isinstance(optimizer, keras.optimizers.Optimizer):
        # Never share slots between networks: copy the configuration.
        instance = type(optimizer).from_config(optimizer.get_config())
    elif callable(optimizer):
        instance = optimizer()
    else:
        raise TypeError(f'optimizer must be a Keras optimizer name, instance or '
                        f'factory; got {optimizer!r}.')
    if learning_rate is not None:
        config = instance.get_config()
        config['learning_rate'] = learning_rate
        instance = type(instance).from_config(config)
    return instance


def _make_loss(keras, loss: Any) -> Callable:
    """A function (y_true, y_pred) -> per-example losses, unreduced."""
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        # Loss objects reduce in __call__; call() gives per-example values.
        return loss.call
    if not callable(loss):
        raise TypeError(f'A loss must be a Keras loss name or a callable '
                        f'(y_true, y_pred) -> per-example loss; got {loss!r}.')
    return loss


def _make_metric(keras, metric: Any, name: str) -> Any:
    """A fresh stateful keras.metrics.Metric named name."""
    if isinstance(metric, keras.metrics.Metric):
        config = metric.get_config()
        config['name'] = name
        return type(metric).from_config(config)
    if isinstance(metric, str):
        metric = keras.metrics.get(metric)
        if isinstance(metric, keras.metrics.Metric):
            return _make_metric(keras, metric, name)
    if callable(metric):
        return keras.metrics.MeanMetricWrapper(metric, name=name)
    raise TypeError(f'A metric must be a Keras metric name, a Metric or a '
                    f'callable (y_true, y_pred); got {metric!r}.')


def _metric_name(metric: Any) -> str:
    if isinstance(metric, str):
        return metric
    return getattr(metric, 'name', None) or getattr(metric, '__name__', 'metric')


def _label(leaf: _Leaf) -> str:
    """' <name>' for a named leaf, '' for a root leaf (for messages)."""
    return f' {leaf.name!r}' if leaf.name else ''


def _shape_text(shape: Sequence[Any]) -> str:
    """'(B, 4)' for shape (4,)."""
    return '(' + ', '.join(['B'] + [str(d) for d in shape]) + ')'


def _check_batch(leaves: Sequence[_Leaf], arrays: list, what: str) -> int:
    """Checks leaf shapes [B, *signature.shape]; returns B."""
    batch_size = None
    for leaf, array in zip(leaves, arrays):
        expected = tuple(leaf.signature.shape)
        if array.ndim == 0 or array.shape[1:] != expected:
            raise ValueError(
                f'KerasNetwork {what}{_label(leaf)}: expected shape '
                f'{_shape_text(expected)} (B = batch size), got {array.shape}.')
        if batch_size is None:
            batch_size = array.shape[0]
        elif array.shape[0] != batch_size:
            raise ValueError(
                f'KerasNetwork {what}: leaves have different batch sizes '
                f'({batch_size} and {array.shape[0]}).')
    return batch_size


@gin.configurable(module='alpacka.networks')
class KerasNetwork(core.TrainableNetwork):
    """A TrainableNetwork running a Keras model (TensorFlow backend).

    ``predict`` runs one compiled function whose batch dimension is dynamic, so
    batches of any size reuse it. ``train`` runs one compiled gradient step per
    batch and minimises

        sum_h loss_weight_h * mean_b(mask_h[b] * loss_h(target_h[b], pred_h[b]))
        + weight_decay * sum_kernels ||W||^2  (+ the model's own losses)

    where h runs over heads (output leaves) and b over the batch. Masked-out
    examples still count in the mean's denominator, as with Keras'
    ``sample_weight``.

    Args:
        network_signature: Nested TensorSignatures of the inputs and outputs.
        model_fn: ``model_fn(network_signature) -> keras.Model`` (see the
            module docstring for its input and output conventions).
        optimizer: A Keras optimizer name (``'adam'``), instance (copied) or
            zero-argument factory.
        learning_rate: Overrides the optimizer's learning rate if given.
        loss: A Keras loss name, a ``keras.losses.Loss`` or a callable
            ``(y_true, y_pred) -> [B]`` (extra axes are averaged); one for all
            heads or nested like the output signature. For heads of shape ()
            the loss sees [B, 1] tensors.
        loss_weights: Weight of each head's loss: None (all 1), one number or
            numbers nested like the output signature.
        weight_decay: Coefficient of the L2 penalty on all kernels.
        metrics: Training metrics: a list of Keras metric names, Metrics or
            callables ``(y_true, y_pred)``, applied to every head; or such
            lists nested like the output signature. Means over the masked
            examples are reported.
        seed: If given, the model is initialised from this seed (the global
            Python and numpy random states are left as they were). Otherwise
            initialisation follows the global seed (``Runner.seed``).
        numpy_inference: Evaluate ``predict`` in numpy instead of TensorFlow
            (models built by ``mlp`` only). A TensorFlow call costs a few
            hundred microseconds whatever the batch size; numpy evaluates a
            small MLP in tens of microseconds, which pays when predictions are
            requested in small batches (e.g. MCTS leaf evaluations). Training
            still runs in TensorFlow.
    """

    def __init__(self, network_signature: data.NetworkSignature,
                 model_fn: Callable = mlp,
                 optimizer: Any = 'adam',
                 learning_rate: Optional[float] = None,
                 loss: Any = 'mean_squared_error',
                 loss_weights: Any = None,
                 weight_decay: float = 0.0,
                 metrics: Any = None,
                 seed: Optional[int] = None,
                 numpy_inference: bool = False):
        super().__init__(network_signature)
        if network_signature is None:
            raise ValueError('KerasNetwork needs a network signature; the agent '
                             'returned None from network_signature().')
        self._init_kwargs = {
            'model_fn': model_fn, 'optimizer': optimizer,
            'learning_rate': learning_rate, 'loss': loss,
            'loss_weights': loss_weights, 'weight_decay': weight_decay,
            'metrics': metrics, 'seed': seed,
            'numpy_inference': numpy_inference}
        self._tf, self._keras = tensorflow_import.import_tensorflow()
        tf, keras = self._tf, self._keras

        self._input_leaves = _signature_leaves(network_signature.input)
        self._output_leaves = _signature_leaves(network_signature.output)
        if not self._input_leaves or not self._output_leaves:
            raise ValueError(f'The network signature {network_signature} has no '
                             f'input or no output leaves.')
        self._single_input = data.is_signature(network_signature.input)
        self._input_dtypes = [np.dtype(leaf.signature.dtype)
                              for leaf in self._input_leaves]
        self._output_dtypes = [np.dtype(leaf.signature.dtype)
                               for leaf in self._output_leaves]

        self._model = self._build_model(model_fn, seed)
        self._weight_shapes = [tuple(w.shape) for w in self._model.weights]
        self._kernels = [v for v in self._model.trainable_variables
                         if 'kernel' in v.name]

        output = network_signature.output
        self._losses = [_make_loss(keras, fn) for fn in
                        _per_head(loss, self._output_leaves, output, 'loss')]
        self._loss_weights = [
            1.0 if weight is None else float(weight) for weight in
            _per_head(loss_weights, self._output_leaves, output, 'loss_weights')]
        self._weight_decay = float(weight_decay)
        self._metrics = self._build_metrics(metrics)

        self._optimizer = _make_optimizer(keras, optimizer, learning_rate)
        self._optimizer.build(self._model.trainable_variables)

        # [B, ...] with B left open: one trace serves every batch size.
        self._input_specs = [
            tf.TensorSpec((None,) + tuple(leaf.signature.shape),
                          tf.as_dtype(dtype))
            for leaf, dtype in zip(self._input_leaves, self._input_dtypes)]
        self._predict_fn = tf.function(
            self._forward, input_signature=self._input_specs,
            autograph=False).get_concrete_function()
        self._check_output_shapes(self._predict_fn.structured_outputs)
        self._train_fns = {}
        self._numpy_mlp = numpy_mlp.NumpyMLP(
            self._model,
            head_names=['head' + (f'_{leaf.name}' if leaf.name else '')
                        for leaf in self._output_leaves],
            head_shapes=[tuple(leaf.signature.shape)
                         for leaf in self._output_leaves],
        ) if numpy_inference else None

    # -- Building. ---------------------------------------------------------

    def _build_model(self, model_fn: Callable, seed: Optional[int]) -> Any:
        if seed is None:
            model = model_fn(self._network_signature)
        else:
            python_state = random.getstate()
            numpy_state = np.random.get_state()
            try:
                self._keras.utils.set_random_seed(seed)
                model = model_fn(self._network_signature)
            finally:
                random.setstate(python_state)
                np.random.set_state(numpy_state)
        if not isinstance(model, self._keras.Model):
            raise TypeError(f'model_fn must return a keras.Model; '
                            f'{model_fn} returned {type(model).__name__}.')
        return model

    def _build_metrics(self, metrics: Any) -> List[list]:
        """Per head, a list of (report name, fresh Metric)."""
        if metrics is None:
            return [[] for _ in self._output_leaves]
        if (isinstance(metrics, (list, tuple)) and
                all(isinstance(m, str) or callable(m) for m in metrics)):
            per_head = [metrics] * len(self._output_leaves)
        else:
            per_head = _per_head(metrics, self._output_leaves,
                                 self._network_signature.output, 'metrics')
        multi_head = len(self._output_leaves) > 1
        result = []
        for leaf, head_metrics in zip(self._output_leaves, per_head):
            if head_metrics is None:
                head_metrics = []
            elif isinstance(head_metrics, str) or callable(head_metrics):
                head_metrics = [head_metrics]
            named = []
            for metric in head_metrics:
                name = _metric_name(metric)
                if multi_head:
                    name = f'{name}_{leaf.name}'
                named.append((name, _make_metric(self._keras, metric, name)))
            result.append(named)
        return result

    def _check_output_shapes(self, outputs: Sequence[Any]) -> None:
        for leaf, tensor in zip(self._output_leaves, outputs):
            expected = tuple(leaf.signature.shape)
            got = tuple(tensor.shape[1:])
            if len(got) != len(expected) or any(
                    g is not None and g != e for g, e in zip(got, expected)):
                raise ValueError(
                    f'The model built by model_fn returns head{_label(leaf)} of '
                    f'shape {_shape_text(got)}, but the output signature says '
                    f'{_shape_text(expected)}.')

    # -- Compiled functions. -----------------------------------------------

    def _call_model(self, flat_inputs: Sequence[Any], training: bool) -> list:
        """Runs the model on flat input tensors; returns flat head tensors."""
        model_inputs = (flat_inputs[0] if self._single_input
                        else list(flat_inputs))
        outputs = self._model(model_inputs, training=training)
        n_heads = len(self._output_leaves)
        if self._tf.is_tensor(outputs):
            flat = [outputs]
        elif (isinstance(outputs, (list, tuple)) and len(outputs) == n_heads
              and all(self._tf.is_tensor(o) for o in outputs)):
            flat = list(outputs)
        else:
            flat = _flatten_like(self._output_leaves, outputs, 'model outputs')
        if len(flat) != n_heads:
            raise ValueError(f'The model returns {len(flat)} outputs; the output '
                             f'signature has {n_heads} leaves.')
        return flat

    def _forward(self, *flat_inputs):
        """Inference on flat inputs [B, ...]: flat outputs in signature dtypes."""
        flat = self._call_model(flat_inputs, training=False)
        return [self._tf.cast(tensor, dtype) if tensor.dtype != dtype else tensor
                for tensor, dtype in zip(flat, self._output_dtypes)]

    def _train_step(self, flat_inputs, flat_targets, flat_masks):
        """One gradient step; returns (total loss, [head losses])."""
        tf = self._tf
        variables = self._model.trainable_variables
        with tf.GradientTape() as tape:
            predictions = self._call_model(flat_inputs, training=True)
            head_losses = []
            pairs = []
            for leaf, loss_fn, prediction, target, mask in zip(
                    self._output_leaves, self._losses, predictions,
                    flat_targets, flat_masks):
                prediction = tf.cast(prediction, tf.float32)
                if not leaf.signature.shape:
                    # Keras losses reduce the last axis: give them one.
                    prediction = prediction[:, None]
                    if target.shape.rank == 1:
                        target = target[:, None]
                pairs.append((target, prediction))
                per_example = tf.cast(loss_fn(target, prediction), tf.float32)
                if per_example.shape.rank == 0:
                    raise ValueError(
                        f'The loss of head {leaf.name!r} returned a scalar; it '
                        f'must return one value per example, shape [B].')
                if per_example.shape.rank > 1:
                    per_example = tf.reduce_mean(
                        per_example, axis=list(range(1, per_example.shape.rank)))
                head_losses.append(tf.reduce_mean(per_example * mask))
            total = tf.add_n([weight * head_loss for weight, head_loss
                              in zip(self._loss_weights, head_losses)])
            if self._weight_decay and self._kernels:
                total += self._weight_decay * tf.add_n(
                    [tf.reduce_sum(tf.square(kernel)) for kernel in self._kernels])
            if self._model.losses:
                total += tf.add_n(self._model.losses)
        gradients = tape.gradient(total, variables)
        is_finite = tf.math.is_finite(total)

        def apply():
            self._optimizer.apply_gradients(zip(gradients, variables))
            return tf.constant(True)

        # A non-finite loss leaves the weights as they were before the step.
        tf.cond(is_finite, apply, lambda: tf.constant(False))
        for (target, prediction), head_metrics, mask in zip(
                pairs, self._metrics, flat_masks):
            for _, metric in head_metrics:
                metric.update_state(target, prediction, sample_weight=mask)
        return total, head_losses

    def _train_fn(self, flat_targets: list) -> Any:
        """The compiled train step for targets of these shapes and dtypes."""
        tf = self._tf
        key = tuple((t.shape[1:], t.dtype.str) for t in flat_targets)
        if key not in self._train_fns:
            target_specs = [tf.TensorSpec((None,) + t.shape[1:],
                                          tf.as_dtype(t.dtype))
                            for t in flat_targets]
            mask_specs = [tf.TensorSpec((None,), tf.float32)
                          for _ in self._output_leaves]
            self._train_fns[key] = tf.function(
                self._train_step,
                input_signature=[self._input_specs, target_specs, mask_specs],
                autograph=False).get_concrete_function()
        return self._train_fns[key]

    # -- Network API. --------------------------------------------------------

    def _flat_inputs(self, inputs: Any, what: str = 'input') -> list:
        """Validated flat input arrays, cast to the signature's dtypes."""
        if self._single_input:
            flat = [inputs]
        else:
            flat = _flatten_like(self._input_leaves, inputs, 'inputs')
        flat = [np.asarray(array, dtype=dtype)
                for array, dtype in zip(flat, self._input_dtypes)]
        _check_batch(self._input_leaves, flat, what)
        return flat

    def predict(self, inputs: Any) -> Any:
        """Evaluates the network on a batch.

        Args:
            inputs: Nested arrays [B, ...] like the input signature.

        Returns:
            Nested numpy arrays [B, ...] like the output signature.

        Raises:
            ValueError: an input's shape does not match the input signature.
        """
        flat = self._flat_inputs(inputs)
        if self._numpy_mlp is not None:
            outputs = [output.astype(dtype, copy=False) for output, dtype in
                       zip(self._numpy_mlp(flat), self._output_dtypes)]
        else:
            convert = self._tf.convert_to_tensor
            outputs = [tensor.numpy() for tensor in self._predict_fn(
                *[convert(array) for array in flat])]
        if len(outputs) == 1 and data.is_signature(self._network_signature.output):
            return outputs[0]
        return _pack_like(self._network_signature.output, outputs)

    @property
    def params(self) -> List[np.ndarray]:
        """The model's weights (trainable and not), as a list of numpy arrays."""
        return [np.array(w) for w in self._model.get_weights()]

    @params.setter
    def params(self, new_params: Sequence[np.ndarray]) -> None:
        """Sets the weights.

        Raises:
            ValueError: the count or a shape differs from the model's.
        """
        new_params = list(new_params)
        if len(new_params) != len(self._weight_shapes):
            raise ValueError(
                f'KerasNetwork.params: the model has {len(self._weight_shapes)} '
                f'weight arrays, got {len(new_params)} (are the params from a '
                f'network with another model_fn or signature?).')
        for index, (array, shape) in enumerate(zip(new_params,
                                                   self._weight_shapes)):
            if tuple(np.shape(array)) != shape:
                raise ValueError(
                    f'KerasNetwork.params: weight {index} '
                    f'({self._model.weights[index].path}) has shape {shape}, '
                    f'got {tuple(np.shape(array))}.')
        self._model.set_weights(new_params)
        self._weights_changed()

    def _weights_changed(self) -> None:
        if self._numpy_mlp is not None:
            self._numpy_mlp.invalidate()

    def train(self, data_stream: Callable[[], Iterator[Any]],
              n_steps: int) -> Dict[str, float]:
        """Performs up to n_steps gradient steps (fewer if the stream ends).

        Args:
            data_stream: Zero-argument callable returning an iterator of
                batches ``(inputs, targets)`` or ``(inputs, targets, masks)``:
                inputs nested like the input signature with leaves [B, ...];
                targets nested like the output signature; masks nested like
                the output signature with a [B] weight per head, or None (for
                all masks or for a head) meaning all ones.
            n_steps: Maximum number of steps.

        Returns:
            Means over the steps: 'loss' (the whole objective), 'loss_<head>'
            per head when there are several heads, and the metrics. Empty if
            the stream gave no batch.

        Raises:
            FloatingPointError: the loss became NaN or infinite (the weights
                are left as before that step).
            ValueError: a batch does not match the signature.
        """
        self._weights_changed()
        for head_metrics in self._metrics:
            for _, metric in head_metrics:
                metric.reset_state()
        totals = []
        head_losses = []
        for step, batch in enumerate(itertools.islice(data_stream(), n_steps)):
            flat_inputs, flat_targets, flat_masks = self._flat_batch(batch)
            total, heads = self._train_fn(flat_targets)(
                flat_inputs, flat_targets, flat_masks)
            total = float(total)
            if not math.isfinite(total):
                raise FloatingPointError(
                    f'KerasNetwork training loss became {total} at step '
                    f'{step + 1} of {n_steps}; lower the learning rate (or check '
                    f'the training targets for NaN/inf).')
            totals.append(total)
            head_losses.append([float(loss) for loss in heads])
        if not totals:
            return {}
        metrics = {'loss': float(np.mean(totals))}
        if len(self._output_leaves) > 1:
            means = np.mean(head_losses, axis=0)
            for leaf, mean in zip(self._output_leaves, means):
                metrics[f'loss_{leaf.name}'] = float(mean)
        for head_metrics in self._metrics:
            for name, metric in head_metrics:
                metrics[name] = float(metric.result())
        return metrics

    def _flat_batch(self, batch: Any) -> Tuple[list, list, list]:
        """Validated flat (inputs, targets, masks) arrays of one batch."""
        if len(batch) == 3:
            inputs, targets, masks = batch
        elif len(batch) == 2:
            (inputs, targets), masks = batch, None
        else:
            raise ValueError(f'A training batch must be (inputs, targets) or '
                             f'(inputs, targets, masks); got {len(batch)} items.')
        flat_inputs = self._flat_inputs(inputs, what='training input')
        batch_size = len(flat_inputs[0])
        output = self._network_signature.output
        if data.is_signature(output):
            flat_targets = [targets]
        else:
            flat_targets = _flatten_like(self._output_leaves, targets, 'targets')
        converted = []
        for leaf, target in zip(self._output_leaves, flat_targets):
            target = np.asarray(target)
            if target.dtype.kind == 'f' or target.dtype == np.bool_:
                target = target.astype(np.float32, copy=False)
            if target.ndim == 0 or len(target) != batch_size:
                raise ValueError(
                    f'KerasNetwork training targets{_label(leaf)}: expected a '
                    f'leading batch dimension of {batch_size}, got shape '
                    f'{target.shape}.')
            converted.append(target)
        if masks is None:
            flat_masks = [None] * len(self._output_leaves)
        elif data.is_signature(output):
            flat_masks = [masks]
        else:
            flat_masks = _flatten_like(self._output_leaves, masks, 'masks')
        ones = None
        mask_arrays = []
        for leaf, mask in zip(self._output_leaves, flat_masks):
            if mask is None:
                if ones is None:
                    ones = np.ones(batch_size, np.float32)
                mask_arrays.append(ones)
                continue
            mask = np.asarray(mask, dtype=np.float32)
            if mask.shape != (batch_size,):
                raise ValueError(
                    f'KerasNetwork training mask{_label(leaf)}: expected shape '
                    f'({batch_size},), got {mask.shape}.')
            mask_arrays.append(mask)
        return flat_inputs, converted, mask_arrays

    # -- Checkpoints. ----------------------------------------------------------

    def _optimizer_state(self) -> List[np.ndarray]:
        return [np.array(v.numpy()) for v in self._optimizer.variables]

    def _set_optimizer_state(self, state: Sequence[np.ndarray],
                             checkpoint_path: str) -> None:
        variables = self._optimizer.variables
        shapes = [tuple(v.shape) for v in variables]
        if len(state) != len(variables) or any(
                tuple(np.shape(s)) != shape for s, shape in zip(state, shapes)):
            raise ValueError(
                f'The optimizer state in {checkpoint_path} does not fit this '
                f'network\'s optimizer ({len(state)} arrays for '
                f'{len(variables)} variables); was it written with another '
                f'optimizer or model?')
        for variable, value in zip(variables, state):
            variable.assign(value)

    def save(self, checkpoint_path: str) -> None:
        """Writes weights and optimizer state to one file, atomically.

        Args:
            checkpoint_path: The file to write (replaced whole or not at all).
        """
        pickle_files.save_pickle(checkpoint_path, {
            'format': _CHECKPOINT_FORMAT,
            'params': self.params,
            'optimizer': self._optimizer_state(),
        })

    def restore(self, checkpoint_path: str) -> None:
        """Reads weights and optimizer state written by save().

        A file holding only a params list (as written by Network.save) is
        accepted too; the optimizer then keeps its state.

        Args:
            checkpoint_path: The file to read.

        Raises:
            FileNotFoundError: no such file.
            alpacka.utils.pickle_files.CorruptCheckpointError: the file does
                not unpickle.
            ValueError: the file is not a checkpoint of a network like this.
        """
        state = pickle_files.load_pickle(checkpoint_path)
        if isinstance(state, dict) and 'params' in state:
            if state.get('format') != _CHECKPOINT_FORMAT:
                raise ValueError(
                    f'{checkpoint_path} has KerasNetwork checkpoint format '
                    f'{state.get("format")}; this version reads format '
                    f'{_CHECKPOINT_FORMAT}.')
            self.params = state['params']
            self._set_optimizer_state(state['optimizer'], checkpoint_path)
        elif isinstance(state, (list, tuple)):
            self.params = state
        else:
            raise ValueError(f'{checkpoint_path} is not a KerasNetwork '
                             f'checkpoint (it holds a {type(state).__name__}).')

    def clone(self) -> 'KerasNetwork':
        """A new network with the same configuration and equal params.

        The clone has a fresh optimizer (its state is not copied).
        """
        new_network = type(self)(network_signature=self._network_signature,
                                 **self._init_kwargs)
        new_network.params = self.params
        return new_network
