"""Fresh Keras optimizers, losses and metrics from what a Gin config names.

A config may give a Keras name (``'adam'``, ``'mae'``), an instance or a
callable; KerasNetwork turns each into a fresh object of its own, so that no
two networks share optimizer slots or metric state.
"""

from typing import Any, Callable, List, Optional, Sequence

from alpacka import data
from alpacka.networks import keras_optimizers
from alpacka.networks import model_builders


def make_optimizer(keras: Any, optimizer: Any,
                   learning_rate: Optional[float]) -> Any:
    """A fresh Keras optimizer from a name, an instance or a factory.

    Args:
        keras: The keras module.
        optimizer: A Keras optimizer name, instance (its configuration is
            copied), ``keras_optimizers.OptimizerSpec`` (Gin's
            ``@tf.keras.optimizers.RMSprop()``) or zero-argument factory.
        learning_rate: Overrides the optimizer's learning rate if given.

    Returns:
        A new keras.optimizers.Optimizer.
    """
    if isinstance(optimizer, str):
        instance = keras.optimizers.get(optimizer)
    elif isinstance(optimizer, keras_optimizers.OptimizerSpec):
        instance = optimizer.make(keras)
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


def make_callbacks(keras: Any, callbacks: Any, model: Any,
                   optimizer: Any) -> List[Any]:
    """Keras callbacks attached to a model and its (custom-loop) optimizer.

    Args:
        keras: The keras module.
        callbacks: None, or a list of keras.callbacks.Callback instances or
            zero-argument factories returning one.
        model: The keras.Model the callbacks see as ``self.model``.
        optimizer: The optimizer that trains it, set as ``model.optimizer``
            (KerasNetwork trains in its own loop, without ``compile``).

    Returns:
        The callbacks, each with set_model called.
    """
    made = []
    for callback in callbacks or ():
        if not isinstance(callback, keras.callbacks.Callback) and callable(
                callback):
            callback = callback()
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError(
                f'KerasNetwork.train_callbacks must hold Keras callbacks (or '
                f'factories of them); got {callback!r}.')
        made.append(callback)
    if made:
        model.optimizer = optimizer
        for callback in made:
            callback.set_model(model)
    return made


def make_loss(keras: Any, loss: Any) -> Callable:
    """A function (y_true, y_pred) -> per-example losses [B, ...], unreduced."""
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        # Loss objects reduce in __call__; call() gives per-example values.
        return loss.call
    if not callable(loss):
        raise TypeError(f'A loss must be a Keras loss name or a callable '
                        f'(y_true, y_pred) -> per-example loss; got {loss!r}.')
    return loss


def make_metric(keras: Any, metric: Any, name: str) -> Any:
    """A fresh stateful keras.metrics.Metric named name."""
    if isinstance(metric, keras.metrics.Metric):
        config = metric.get_config()
        config['name'] = name
        return type(metric).from_config(config)
    if isinstance(metric, str):
        metric = keras.metrics.get(metric)
        if isinstance(metric, keras.metrics.Metric):
            return make_metric(keras, metric, name)
    if callable(metric):
        return keras.metrics.MeanMetricWrapper(metric, name=name)
    raise TypeError(f'A metric must be a Keras metric name, a Metric or a '
                    f'callable (y_true, y_pred); got {metric!r}.')


def metric_name(metric: Any) -> str:
    """The name a metric is reported under (before the head suffix)."""
    if isinstance(metric, str):
        return metric
    return getattr(metric, 'name', None) or getattr(metric, '__name__', 'metric')


def make_head_metrics(keras: Any, metrics: Any,
                      output_leaves: Sequence[data.SignatureLeaf],
                      output_signature: Any) -> List[list]:
    """Per head, a list of (report name, fresh Metric).

    Args:
        keras: The keras module.
        metrics: None; a list of metric names, Metrics or callables for every
            head; or such lists nested like the output signature.
        output_leaves: The output signature's leaves.
        output_signature: The output signature.

    Returns:
        One list per head, in leaf order; with several heads a metric is
        reported as ``<name>_<head>``.
    """
    if metrics is None:
        return [[] for _ in output_leaves]
    if (isinstance(metrics, (list, tuple)) and
            all(isinstance(m, str) or callable(m) for m in metrics)):
        per_head = [metrics] * len(output_leaves)
    else:
        per_head = model_builders.per_head(metrics, output_leaves,
                                           output_signature, 'metrics')
    multi_head = len(output_leaves) > 1
    result = []
    for leaf, head_metrics in zip(output_leaves, per_head):
        if head_metrics is None:
            head_metrics = []
        elif isinstance(head_metrics, str) or callable(head_metrics):
            head_metrics = [head_metrics]
        named = []
        for metric in head_metrics:
            name = metric_name(metric)
            if multi_head:
                name = f'{name}_{leaf.name}'
            named.append((name, make_metric(keras, metric, name)))
        result.append(named)
    return result
