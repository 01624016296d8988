"""KerasNetwork: a TrainableNetwork backed by a Keras 3 model on TensorFlow.

TensorFlow and Keras are imported when the first KerasNetwork is built (never
by ``import alpacka``), with TensorFlow's start-up log noise kept off the
screen. The model comes from a ``model_fn`` (``model_builders.mlp``,
``convnet`` or one's own) following the conventions stated in
``alpacka.networks.model_builders``.
"""

from typing import (Annotated, Any, Callable, Dict, List, Optional, Sequence,
                    Tuple)

import numpy as np

from alpacka import data
from alpacka.networks import keras_batches
from alpacka.networks import keras_factories
from alpacka.networks import model_builders
from alpacka.networks import numpy_mlp
from alpacka.networks import tensorflow_base
from alpacka.utils import validation

_PARAMS_HINT = 'are the params from a network with another model_fn or signature?'


@validation.configurable(module='alpacka.networks')
class KerasNetwork(tensorflow_base.TensorFlowNetwork):
    """A TrainableNetwork running a Keras model (TensorFlow backend).

    ``predict`` runs one compiled function whose batch dimension is dynamic, so
    batches of any size reuse it. ``train`` runs one compiled gradient step per
    batch and minimises

        sum_h loss_weight_h * mean_b(mask_h[b] * loss_h(target_h[b], pred_h[b]))
        + weight_decay * sum_kernels ||W||^2  (+ the model's own losses)

    where h runs over heads (output leaves) and b over the batch. Masked-out
    examples still count in the mean's denominator, as with Keras'
    ``sample_weight``.

    ``train``'s data stream gives batches ``(inputs, targets)`` or
    ``(inputs, targets, masks)``: inputs nested like the input signature with
    leaves [B, ...]; targets nested like the output signature; masks nested
    like the output signature with a [B] weight per head, or None (for all
    masks or for a head) meaning all ones. ``train`` returns means over the
    steps: 'loss' (the whole objective), 'loss_<head>' per head when there
    are several heads, and the metrics; it raises FloatingPointError when
    the loss becomes NaN or infinite (the weights are left as before that
    step) and ValueError when a batch does not match the signature.

    Target weights (see ``tensorflow_base``): ``update_target()`` copies the
    model's weights into target weights (made by its first call),
    ``predict_target`` evaluates the model on them. They are saved with the
    network but are not part of ``params``.

    Args:
        network_signature: Nested TensorSignatures of the inputs and outputs.
        model_fn: ``model_fn(network_signature) -> keras.Model`` (see
            ``alpacka.networks.model_builders`` for its input and output
            conventions).
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
        numpy_inference: Evaluate ``predict`` (and ``predict_target``) in
            numpy instead of TensorFlow (models built by ``mlp`` only). A
            TensorFlow call costs a few hundred microseconds whatever the
            batch size; numpy evaluates a small MLP in tens of microseconds,
            which pays when predictions are requested in small batches (e.g.
            MCTS leaf evaluations). Training still runs in TensorFlow.
        train_callbacks: Keras callbacks (instances, or zero-argument
            factories), as the original project passed to ``model.fit``: each ``train`` call is
            one Keras epoch (``on_train_begin``, ``on_epoch_begin(i)``, then
            ``on_epoch_end(i, logs)`` and ``on_train_end(logs)`` with the
            returned metrics as logs; ``i`` counts train calls). The
            callbacks' ``model`` is the Keras model, whose ``optimizer`` is
            the network's (so learning-rate schedulers work).
    """

    # 1: params and optimizer state; 2: and the target weights.
    CHECKPOINT_FORMAT = 2

    def __init__(self,
                 # None gets a message naming the agent (below).
                 network_signature: Optional[data.NetworkSignature],
                 model_fn: Callable = model_builders.mlp,
                 optimizer: Annotated[Any, validation.Unchecked(
                     'a Keras optimizer name, instance or factory')] = 'adam',
                 # 0 freezes the weights (e.g. to measure a loss).
                 learning_rate: Annotated[
                     Optional[float], validation.AtLeast(0)] = None,
                 loss: Annotated[Any, validation.Unchecked(
                     'a Keras loss, or losses nested like the outputs')] = (
                         'mean_squared_error'),
                 loss_weights: Annotated[Any, validation.Unchecked(
                     'None, a number, or numbers nested like the outputs'
                 )] = None,
                 weight_decay: Annotated[float, validation.AtLeast(0)] = 0.0,
                 metrics: Annotated[Any, validation.Unchecked(
                     'Keras metrics, or lists nested like the outputs')] = None,
                 seed: Optional[int] = None,
                 numpy_inference: bool = False,
                 train_callbacks: Annotated[Any, validation.Unchecked(
                     'None or a list of Keras callbacks or factories'
                 )] = None):
        if network_signature is None:
            raise ValueError('KerasNetwork needs a network signature; the agent '
                             'returned None from network_signature().')
        super().__init__(network_signature, {
            'model_fn': model_fn, 'optimizer': optimizer,
            'learning_rate': learning_rate, 'loss': loss,
            'loss_weights': loss_weights, 'weight_decay': weight_decay,
            'metrics': metrics, 'seed': seed,
            'numpy_inference': numpy_inference,
            'train_callbacks': train_callbacks})
        tf, keras = self._tf, self._keras

        self._input_leaves = data.leaves_with_paths(network_signature.input)
        self._output_leaves = data.leaves_with_paths(network_signature.output)
        if not self._input_leaves or not self._output_leaves:
            raise ValueError(f'The network signature {network_signature} has no '
                             f'input or no output leaves.')
        self._single_input = data.is_signature(network_signature.input)
        self._input_dtypes = [np.dtype(leaf.signature.dtype)
                              for leaf in self._input_leaves]
        self._output_dtypes = [np.dtype(leaf.signature.dtype)
                               for leaf in self._output_leaves]

        self._model = self._build_model(model_fn, seed)
        self._kernels = [v for v in self._model.trainable_variables
                         if 'kernel' in v.name]

        output = network_signature.output
        self._losses = [keras_factories.make_loss(keras, fn) for fn in
                        model_builders.per_head(loss, self._output_leaves,
                                                output, 'loss')]
        self._loss_weights = [
            1.0 if weight is None else float(weight) for weight in
            model_builders.per_head(loss_weights, self._output_leaves, output,
                                    'loss_weights')]
        self._weight_decay = float(weight_decay)
        self._metrics = keras_factories.make_head_metrics(
            keras, metrics, self._output_leaves, output)

        self._optimizer = keras_factories.make_optimizer(keras, optimizer,
                                                         learning_rate)
        self._optimizer.build(self._model.trainable_variables)
        self._optimizers = [self._optimizer]
        self._train_callbacks = keras_factories.make_callbacks(
            keras, train_callbacks, self._model, self._optimizer)
        self._n_train_calls = 0

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

        self._numpy_layout = None
        if numpy_inference:
            self._numpy_layout = numpy_mlp.keras_mlp_layout(
                self._model, [model_builders.head_layer_name(leaf)
                              for leaf in self._output_leaves])
        self._numpy_mlp = self._make_numpy_mlp(self._model.weights)
        # Made by the first update_target() (or by setting target_params).
        self._targets = None
        self._target_numpy_mlp = None
        self._predict_target_fn = None

    # -- Building. ---------------------------------------------------------

    def _build_model(self, model_fn: Callable, seed: Optional[int]) -> Any:
        model = self._build_seeded(lambda: model_fn(self._network_signature),
                                   seed)
        if not isinstance(model, self._keras.Model):
            raise TypeError(f'model_fn must return a keras.Model; '
                            f'{model_fn} returned {type(model).__name__}.')
        return model

    def _make_numpy_mlp(self, variables: Sequence[Any]
                        ) -> Optional[numpy_mlp.NumpyMLP]:
        """A NumpyMLP reading these variables (the model's or the targets')."""
        if self._numpy_layout is None:
            return None
        activations, indices = self._numpy_layout
        return numpy_mlp.NumpyMLP(
            activations, [tuple(leaf.signature.shape)
                          for leaf in self._output_leaves],
            read_weights=lambda: [np.asarray(variables[index])
                                  for index in indices])

    def _check_output_shapes(self, outputs: Sequence[Any]) -> None:
        for leaf, tensor in zip(self._output_leaves, outputs):
            expected = tuple(leaf.signature.shape)
            got = tuple(tensor.shape[1:])
            if len(got) != len(expected) or any(
                    g is not None and g != e for g, e in zip(got, expected)):
                raise ValueError(
                    f'The model built by model_fn returns head{keras_batches.label(leaf)} of '
                    f'shape {data.signatures.shape_text(got)}, but the output '
                    f'signature says {data.signatures.shape_text(expected)}.')

    # -- Compiled functions. -----------------------------------------------

    def _call_model(self, flat_inputs: Sequence[Any], training: bool,
                    weights: Optional[Sequence[Any]] = None) -> list:
        """Runs the model on flat input tensors; returns flat head tensors.

        Args:
            flat_inputs: One tensor per input leaf.
            training: Keras' training flag.
            weights: Values to use instead of the model's weights, one per
                ``model.weights`` entry (e.g. the target weights).
        """
        model_inputs = (flat_inputs[0] if self._single_input
                        else list(flat_inputs))
        if weights is None:
            outputs = self._model(model_inputs, training=training)
        else:
            index = {id(variable): i
                     for i, variable in enumerate(self._model.weights)}
            outputs, _ = self._model.stateless_call(
                [weights[index[id(v)]] for v in self._model.trainable_variables],
                [weights[index[id(v)]]
                 for v in self._model.non_trainable_variables],
                model_inputs, training=training)
        n_heads = len(self._output_leaves)
        if self._tf.is_tensor(outputs):
            flat = [outputs]
        elif (isinstance(outputs, (list, tuple)) and len(outputs) == n_heads
              and all(self._tf.is_tensor(o) for o in outputs)):
            flat = list(outputs)
        else:
            flat = data.flatten_like(self._output_leaves, outputs,
                                     'model outputs')
        if len(flat) != n_heads:
            raise ValueError(f'The model returns {len(flat)} outputs; the output '
                             f'signature has {n_heads} leaves.')
        return flat

    def _forward(self, *flat_inputs):
        """Inference on flat inputs [B, ...]: flat outputs in signature dtypes."""
        return self._cast_outputs(self._call_model(flat_inputs, training=False))

    def _cast_outputs(self, flat: list) -> list:
        return [self._tf.cast(tensor, dtype) if tensor.dtype != dtype else tensor
                for tensor, dtype in zip(flat, self._output_dtypes)]

    def _gradient_step(self, flat_inputs, flat_targets, flat_masks):
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
                self._gradient_step,
                input_signature=[self._input_specs, target_specs, mask_specs],
                autograph=False).get_concrete_function()
        return self._train_fns[key]

    # -- Network API. --------------------------------------------------------

    def _flat_inputs(self, inputs: Any, what: str = 'input') -> list:
        """Validated flat input arrays, cast to the signature's dtypes."""
        if self._single_input:
            flat = [inputs]
        else:
            flat = data.flatten_like(self._input_leaves, inputs, 'inputs')
        flat = [np.asarray(array, dtype=dtype)
                for array, dtype in zip(flat, self._input_dtypes)]
        data.check_batch(self._input_leaves, flat, f'KerasNetwork {what}')
        return flat

    def _pack_outputs(self, outputs: list) -> Any:
        if len(outputs) == 1 and data.is_signature(self._network_signature.output):
            return outputs[0]
        return data.unflatten_like(self._network_signature.output, outputs)

    def _run(self, flat: list, mlp: Optional[numpy_mlp.NumpyMLP],
             predict_fn: Any) -> Any:
        """Outputs on flat inputs, by numpy (mlp) or a compiled function."""
        if mlp is not None:
            outputs = [output.astype(dtype, copy=False) for output, dtype in
                       zip(mlp(flat), self._output_dtypes)]
        else:
            convert = self._tf.convert_to_tensor
            outputs = [tensor.numpy() for tensor in predict_fn(
                *[convert(array) for array in flat])]
        return self._pack_outputs(outputs)

    def predict(self, inputs: Any) -> Any:
        """Evaluates the network on a batch.

        Args:
            inputs: Nested arrays [B, ...] like the input signature.

        Returns:
            Nested numpy arrays [B, ...] like the output signature.

        Raises:
            ValueError: an input's shape does not match the input signature.
        """
        return self._run(self._flat_inputs(inputs), self._numpy_mlp,
                         self._predict_fn)

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
        tensorflow_base.check_fit(self._model.weights, new_params,
                                  'KerasNetwork.params', _PARAMS_HINT)
        self._model.set_weights(new_params)
        self._weights_changed()

    def _weights_changed(self) -> None:
        if self._numpy_mlp is not None:
            self._numpy_mlp.invalidate()

    # -- Target weights. -----------------------------------------------------

    def update_target(self) -> None:
        """Copies the model's weights into the target weights (hard update)."""
        if self._targets is None:
            self._targets = tensorflow_base.TargetWeights(self._tf,
                                                          self._model.weights)
            self._target_numpy_mlp = self._make_numpy_mlp(
                self._targets.variables)
        else:
            self._targets.hard_update()
        if self._target_numpy_mlp is not None:
            self._target_numpy_mlp.invalidate()

    def predict_target(self, inputs: Any) -> Any:
        """predict() on the target weights (see update_target).

        Raises:
            ValueError: the network has no target weights yet.
        """
        if self._targets is None:
            raise ValueError('KerasNetwork.predict_target: the network has no '
                             'target weights yet; call update_target() first.')
        if self._predict_target_fn is None and self._target_numpy_mlp is None:
            targets = self._targets.variables
            self._predict_target_fn = self._tf.function(
                lambda *flat: self._cast_outputs(self._call_model(
                    flat, training=False, weights=targets)),
                input_signature=self._input_specs,
                autograph=False).get_concrete_function()
        return self._run(self._flat_inputs(inputs), self._target_numpy_mlp,
                         self._predict_target_fn)

    @property
    def target_params(self) -> Optional[List[np.ndarray]]:
        """The target weights as numpy arrays (like params); None if none."""
        return None if self._targets is None else self._targets.numpy()

    @target_params.setter
    def target_params(self, new_params: Optional[Sequence[np.ndarray]]) -> None:
        if new_params is None:
            self._targets = self._target_numpy_mlp = None
            self._predict_target_fn = None
            return
        if self._targets is None:
            self.update_target()
        self._targets.assign(new_params, 'KerasNetwork.target_params')
        if self._target_numpy_mlp is not None:
            self._target_numpy_mlp.invalidate()

    # -- Training. -------------------------------------------------------------

    def train(self, data_stream: Any, n_steps: int) -> Dict[str, float]:
        """See TensorFlowNetwork.train; also runs the train_callbacks."""
        callbacks = self._train_callbacks
        epoch = self._n_train_calls
        self._n_train_calls += 1
        for callback in callbacks:
            callback.on_train_begin()
            callback.on_epoch_begin(epoch)
        metrics = super().train(data_stream, n_steps)
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs=dict(metrics))
            callback.on_train_end(logs=dict(metrics))
        return metrics

    def _before_training(self) -> None:
        self._weights_changed()
        for head_metrics in self._metrics:
            for _, metric in head_metrics:
                metric.reset_state()

    def _train_step(self, batch: Any) -> Dict[str, float]:
        """One gradient step: {'loss': total, 'loss_<head>': ...} (floats)."""
        flat_inputs, flat_targets, flat_masks = self._flat_batch(batch)
        total, heads = self._train_fn(flat_targets)(
            flat_inputs, flat_targets, flat_masks)
        metrics = {'loss': float(total)}
        if len(self._output_leaves) > 1:
            for leaf, loss in zip(self._output_leaves, heads):
                metrics[f'loss_{leaf.name}'] = float(loss)
        return metrics

    def _summarize(self, history: List[Dict[str, float]]) -> Dict[str, float]:
        """Means over the steps: 'loss', 'loss_<head>' and the metrics."""
        metrics = {'loss': float(np.mean([step['loss'] for step in history]))}
        if len(self._output_leaves) > 1:
            names = [f'loss_{leaf.name}' for leaf in self._output_leaves]
            means = np.mean([[step[name] for name in names]
                             for step in history], axis=0)
            for name, mean in zip(names, means):
                metrics[name] = float(mean)
        for head_metrics in self._metrics:
            for name, metric in head_metrics:
                metrics[name] = float(metric.result())
        return metrics

    def _flat_batch(self, batch: Any) -> Tuple[list, list, list]:
        """Validated flat (inputs, targets, masks) arrays of one batch."""
        inputs, targets, masks = keras_batches.split_batch(batch)
        flat_inputs = self._flat_inputs(inputs, what='training input')
        batch_size = len(flat_inputs[0])
        output = self._network_signature.output
        return (flat_inputs,
                keras_batches.flat_targets(self._output_leaves, output,
                                           targets, batch_size),
                keras_batches.flat_masks(self._output_leaves, output, masks,
                                         batch_size))

    # -- Checkpoints. ----------------------------------------------------------

    def _read_old_checkpoint(self, state: Any, checkpoint_path: str) -> None:
        """Format 1 (no target weights) or a bare params list (Network.save).

        A params list leaves the optimizer state and targets as they are; a
        format 1 file leaves the network without target weights.
        """
        if isinstance(state, dict) and 'params' in state:
            if state.get('format') != 1:
                raise ValueError(
                    f'{checkpoint_path} has KerasNetwork checkpoint format '
                    f'{state.get("format")}; this version reads formats 1 and '
                    f'{self.CHECKPOINT_FORMAT}.')
            self._load_checkpoint_state(dict(state, target_params=None),
                                        checkpoint_path)
        elif isinstance(state, (list, tuple)):
            self.params = state
        else:
            raise ValueError(f'{checkpoint_path} is not a KerasNetwork '
                             f'checkpoint (it holds a {type(state).__name__}).')
