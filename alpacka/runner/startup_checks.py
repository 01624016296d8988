"""Checks the Runner makes when it starts, each failing with an error that
says what to change.

They run before any episode: the network signature against the env's
observations, the network's outputs against the signature, and, for
step-based collection, the step counts and the agent and trainer.
"""

from typing import Any, Optional

import gymnasium
import numpy as np

from alpacka import data
from alpacka import errors
from alpacka import networks
from alpacka import trainers
from alpacka.batch_steppers import step_collection


def describe(obj: Any) -> str:
    """The name of a class or function (or of an object's type), for
    messages."""
    return getattr(obj, '__name__', type(obj).__name__)


def check_signature_fits_env(signature: Optional[data.NetworkSignature],
                             observation_space: gymnasium.Space,
                             agent_name: str) -> None:
    """Checks that a network signature's input fits the observations.

    Raises:
        NetworkSignatureError: the input is a single TensorSignature whose
            shape differs from the observation space's.
    """
    if signature is None or not isinstance(signature.input,
                                           data.TensorSignature):
        return
    expected = tuple(observation_space.shape or ())
    if tuple(signature.input.shape) != expected:
        raise errors.NetworkSignatureError(
            f'The network signature from {agent_name}.network_signature() '
            f'takes inputs of shape {tuple(signature.input.shape)}, but the '
            f'env\'s observations have shape {expected} '
            f'({observation_space}). Make the agent build its signature '
            f'from the observation space it is given.')


def check_network_output(network: Any,
                         signature: Optional[data.NetworkSignature]) -> None:
    """Runs the network once on zeros and checks its outputs' shapes.

    Raises:
        NetworkSignatureError: an output's shape differs from the signature.
    """
    if signature is None or isinstance(network, networks.DummyNetwork):
        return
    probe = data.signature_map(
        lambda sig: np.zeros((1,) + tuple(sig.shape), sig.dtype),
        signature.input)
    outputs = network.predict(probe)
    expected = [tuple(sig.shape)
                for sig in data.signature_leaves(signature.output)]
    got = [tuple(np.shape(leaf)[1:]) for leaf in data.nested_leaves(outputs)]
    if len(got) != len(expected) or any(
            e != g for e, g in zip(expected, got)):
        raise errors.NetworkSignatureError(
            f'{describe(type(network))} outputs shapes {got} (batch '
            f'dimension left out), but the agent\'s network signature asks '
            f'for {expected}. Check the network\'s '
            f'model_fn and the action space.')


def check_step_schedule(n_envs: int, env_steps_per_epoch: Optional[int],
                        env_steps_per_train: int) -> None:
    """Checks the step counts of step-based collection.

    Raises:
        ConfigError: a count is not a positive multiple of n_envs.
    """
    if env_steps_per_epoch is None:
        return
    for name, value in (('env_steps_per_epoch', env_steps_per_epoch),
                        ('env_steps_per_train', env_steps_per_train)):
        if value < 1 or value % n_envs:
            raise errors.ConfigError(
                f'Runner.{name} = {value} must be a positive multiple of '
                f'Runner.n_envs = {n_envs}: every env takes the same number '
                f'of steps.')


def check_step_collection(agent: Any, trainer: Any) -> None:
    """Checks that the agent and trainer work with step-based collection.

    Raises:
        ConfigError: the agent plays whole episodes only, or the trainer
            learns from whole episodes only.
    """
    try:
        step_collection.check_step_agents([agent])
    except TypeError as error:
        raise errors.ConfigError(str(error)) from error
    refusal = trainers.base.transitions_refusal(trainer)
    if refusal is not None:
        raise errors.ConfigError(refusal)
