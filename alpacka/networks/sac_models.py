"""The models of SoftActorCriticNetwork: actor, critics, targets, optimizers.

Built with ``model_builders.fan_in_uniform_mlp`` (optionally wider critics
and normalisation layers), plus the numpy mirror of the actor that acting
uses. Keras is passed in (``keras``), never imported here.
"""

import functools
from typing import Any, Dict, List, NamedTuple, Sequence

from alpacka.networks import model_builders
from alpacka.networks import normalization
from alpacka.networks import numpy_mlp


class SacModels(NamedTuple):
    """What the update trains.

    Attributes:
        actor: The actor model.
        critics: The two critic models.
        target_critics: Their two target copies ([] without target critics).
        log_alpha: The variable log(temperature).
    """
    actor: Any
    critics: List[Any]
    target_critics: List[Any]
    log_alpha: Any


def build_models(keras: Any, policy: Any, observation_shape: tuple,
                 hidden_sizes: Sequence[int],
                 critic_hidden_sizes: Sequence[int], actor_normalization: str,
                 critic_normalization: str, renorm: Dict[str, Any],
                 target_critics: bool) -> tuple:
    """The actor, the two critics and their target copies (or []).

    Args:
        keras: The keras module.
        policy: The policy head (``sac_policies``): the models' widths.
        observation_shape: One observation's shape.
        hidden_sizes: The actor's hidden widths.
        critic_hidden_sizes: Each critic's hidden widths.
        actor_normalization: The actor's normalisation layers.
        critic_normalization: The critics' (and targets') ones.
        renorm: Arguments of the Batch Renormalization layers.
        target_critics: Whether to build target critics.

    Returns:
        ``(actor, critics, target_critics)``.
    """
    build = functools.partial(model_builders.fan_in_uniform_mlp, keras,
                              batch_renorm_kwargs=renorm)
    actor = build([observation_shape], policy.n_actor_outputs,
                  hidden_sizes=hidden_sizes, name='actor',
                  normalization=actor_normalization)
    build_critic = functools.partial(
        build, policy.critic_input_shapes(observation_shape),
        policy.n_critic_outputs, hidden_sizes=critic_hidden_sizes,
        normalization=critic_normalization)
    critics = [build_critic(name=f'critic_{i}') for i in range(2)]
    targets = [build_critic(name=f'target_critic_{i}')
               for i in range(2)] if target_critics else []
    return actor, critics, targets


def build_optimizers(keras: Any, models: SacModels,
                     learning_rates: Sequence[float],
                     adam_beta1: float) -> List[Any]:
    """Built Adam optimizers of the actor, the critics and log_alpha.

    Args:
        keras: The keras module.
        models: The models.
        learning_rates: The actor's, the critics' and log_alpha's.
        adam_beta1: Adam's first-moment decay, for all three.
    """
    optimizers = [keras.optimizers.Adam(learning_rate=rate, beta_1=adam_beta1)
                  for rate in learning_rates]
    for optimizer, variables in zip(optimizers, [
            models.actor.trainable_variables,
            [var for critic in models.critics
             for var in critic.trainable_variables], [models.log_alpha]]):
        optimizer.build(list(variables))
    return optimizers


def numpy_actor(actor: Any, n_hidden: int, n_outputs: int,
                actor_normalization: str) -> numpy_mlp.NumpyMLP:
    """The actor in numpy (inference mode), reading its weights on demand."""
    return numpy_mlp.NumpyMLP(
        ['relu'] * n_hidden + ['linear'], [(n_outputs,)],
        read_weights=actor.get_weights, normalization=actor_normalization,
        epsilon=(normalization.DEFAULT_EPSILON
                 if actor_normalization == 'batch_renorm' else
                 model_builders.LAYER_NORM_EPSILON))
