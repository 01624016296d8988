"""Losses for KerasNetwork heads beyond Keras' own (Gin-configurable).

Registered under ``alpacka.networks.keras`` (the name configs use), e.g.
``KerasNetwork.loss = {'value': 'mean_squared_error', 'policy':
@alpacka.networks.keras.categorical_crossentropy_from_logits}``.
"""

from typing import Annotated, Any

from alpacka.utils import tensorflow_import
from alpacka.utils import validation


@validation.configurable(module='alpacka.networks.keras')
def categorical_crossentropy_from_logits(
        y_true: Annotated[Any, validation.Unchecked('a tensor from Keras')],
        y_pred: Annotated[Any, validation.Unchecked('a tensor from Keras')]
) -> Any:
    """Cross-entropy of target distributions under softmax(logits): [B].

    For heads that output logits, e.g. a policy trained towards MCTS visit
    distributions: ``KerasNetwork.loss = {'value': 'mean_squared_error',
    'policy': @alpacka.networks.keras.categorical_crossentropy_from_logits}``.

    Args:
        y_true: [B, n] target probabilities.
        y_pred: [B, n] logits.

    Returns:
        [B] per-example losses.
    """
    _, keras = tensorflow_import.import_tensorflow()
    return keras.losses.categorical_crossentropy(y_true, y_pred,
                                                 from_logits=True)
