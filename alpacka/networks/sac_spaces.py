"""The spaces of SoftActorCriticNetwork: its signature and its action space.

Also importable from ``alpacka.networks.sac``.
"""

from typing import Any

import gymnasium
import numpy as np

from alpacka import data
from alpacka.networks import sac_policies


def auto_target_entropy(action_space: gymnasium.Space) -> float:
    """The default target entropy of the action space's policy head.

    Box: ``-dim(A)`` (Haarnoja et al. 2018). Discrete: ``0.98 * log(n)``, 98%
    of the maximal entropy of a categorical over n actions (Christodoulou
    2019).
    """
    return sac_policies.policy_class(action_space).default_target_entropy(
        action_space)


def network_signature(observation_space: gymnasium.Space,
                      action_space: gymnasium.Space) -> data.NetworkSignature:
    """The signature of a SoftActorCriticNetwork for these spaces.

    The output signature describes what ``predict`` returns.
    """
    observation = data.TensorSignature(tuple(observation_space.shape),
                                       np.float32)
    output = sac_policies.policy_class(action_space).output_signature(
        action_space)
    return data.NetworkSignature(input=observation, output=output)


def resolve_action_space(action_space: Any,
                         signature: data.NetworkSignature) -> gymnasium.Space:
    """The action space from a space, a ``(low, high)`` pair or None.

    A ``(low, high)`` pair (scalars or lists, e.g. from a Gin file) means a
    Box of the shape of the output signature's 'mean' (or of the bounds).
    None means ``Discrete(n)`` when the output signature is
    ``{'logits': (n,)}``; a Box needs its bounds given.
    """
    if isinstance(action_space, gymnasium.Space):
        return action_space
    output = signature.output
    if action_space is None:
        if isinstance(output, dict) and 'logits' in output:
            return gymnasium.spaces.Discrete(int(output['logits'].shape[0]))
        raise ValueError(
            f'SoftActorCriticNetwork needs action_space (a gymnasium space or '
            f'(low, high) bounds) unless its output signature is '
            f'{{"logits": (n,)}}; the output signature is {output}.')
    low, high = action_space
    shape = None
    if isinstance(output, dict) and 'mean' in output:
        shape = tuple(output['mean'].shape)
    low = np.asarray(low, np.float32)
    high = np.asarray(high, np.float32)
    if shape is not None:
        low, high = np.broadcast_to(low, shape), np.broadcast_to(high, shape)
    return gymnasium.spaces.Box(low, high, dtype=np.float32)
