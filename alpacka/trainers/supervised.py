"""SupervisedTrainer: regresses a network onto per-transition targets.

Every transition of an episode becomes one datapoint ``(input, target, mask)``
computed by Gin-configurable functions of the episode: inputs by ``input_*``,
targets by ``target_*`` and (optionally) loss weights by ``mask_*`` functions.
Each such function takes an Episode of T transitions and returns a [T, ...]
array. The datapoints go to a replay buffer, and each epoch trains on batches
sampled from it.

Configs refer to the functions as ``@alpacka.trainers.supervised.target_value``
and so on, e.g. for a network with a value and a policy head::

    SupervisedTrainer.target = {
        'value': @alpacka.trainers.supervised.target_value,
        'policy': @alpacka.trainers.supervised.target_action_histogram,
    }
"""

from typing import (Annotated, Any, Callable, Dict, Hashable, Mapping, Optional,
                    Sequence, Union)

import numpy as np

from alpacka import data
from alpacka.trainers import replay_trainer
from alpacka.utils import seeding
from alpacka.utils import validation


def _agent_info(episode: data.Episode, key: str) -> np.ndarray:
    agent_info = episode.transition_batch.agent_info
    if not isinstance(agent_info, dict) or key not in agent_info:
        keys = sorted(agent_info) if isinstance(agent_info, dict) else []
        raise ValueError(
            f'The target needs agent_info[{key!r}], but the agent does not '
            f'report it (its agent_info has keys {keys}). Use an agent that '
            f'records {key!r} or bind another target function.')
    return np.asarray(agent_info[key])


def _column(values: np.ndarray) -> np.ndarray:
    """[T] -> [T, 1]; other shapes unchanged."""
    values = np.asarray(values)
    return values[:, np.newaxis] if values.ndim == 1 else values


@validation.configurable(module='alpacka.trainers.supervised')
def input_observation(episode: data.Episode) -> Any:
    """The observation of every transition: [T, ...obs_shape]."""
    return episode.transition_batch.observation


@validation.configurable(module='alpacka.trainers.supervised')
def target_solved(episode: data.Episode) -> np.ndarray:
    """Whether the episode was solved, at every step: [T, 1] of 0. or 1.

    Raises:
        ValueError: The env has no notion of success (``solved`` is None).
    """
    if episode.solved is None:
        raise ValueError(
            'target_solved needs episode.solved, but it is None: the env does '
            'not report info["solved"]. Bind another target (e.g. '
            'target_return) or use an env with a notion of success.')
    return np.full((len(episode), 1), float(episode.solved), dtype=np.float32)


@validation.configurable(module='alpacka.trainers.supervised')
def target_return(episode: data.Episode) -> np.ndarray:
    """Undiscounted return-to-go: [T, 1], row t is sum of rewards from t on.

    Nothing is bootstrapped past the episode's end (also when truncated).
    """
    rewards = np.asarray(episode.transition_batch.reward, dtype=np.float64)
    return_to_go = np.cumsum(rewards[::-1])[::-1]
    return return_to_go[:, np.newaxis].astype(np.float32)


@validation.configurable(module='alpacka.trainers.supervised')
def target_discounted_return(episode: data.Episode,
                             discount: float = 0.99) -> np.ndarray:
    """Discounted return-to-go: [T, 1], G_t = r_t + discount * G_{t+1}.

    Nothing is bootstrapped past the episode's end (also when truncated).

    Args:
        episode: The episode.
        discount: Per-step discount.

    Returns:
        Array [T, 1] of float32.
    """
    rewards = np.asarray(episode.transition_batch.reward, dtype=np.float64)
    returns = np.empty_like(rewards)
    future = 0.0
    # A backward recursion: exact for any discount and horizon, unlike
    # dividing a cumulative sum by discount ** t (which underflows).
    for t in range(len(rewards) - 1, -1, -1):
        future = rewards[t] + discount * future
        returns[t] = future
    return returns[:, np.newaxis].astype(np.float32)


@validation.configurable(module='alpacka.trainers.supervised')
def target_value(episode: data.Episode) -> np.ndarray:
    """The agent's value estimate of every step, agent_info['value']: [T, 1]."""
    return _column(_agent_info(episode, 'value'))


@validation.configurable(module='alpacka.trainers.supervised')
def target_qualities(episode: data.Episode) -> np.ndarray:
    """The agent's action values, agent_info['qualities']: [T, n_actions]."""
    return _agent_info(episode, 'qualities')


@validation.configurable(module='alpacka.trainers.supervised')
def target_action_histogram(episode: data.Episode) -> np.ndarray:
    """The agent's visit distribution over actions: [T, n_actions].

    Read from agent_info['action_histogram'] (e.g. MCTS visit counts
    normalised to sum to 1), a policy target.
    """
    return _agent_info(episode, 'action_histogram')


@validation.configurable(module='alpacka.trainers.supervised')
def mask_one(episode: data.Episode) -> np.ndarray:
    """Weight 1 for every transition: [T]."""
    return np.ones(len(episode), dtype=np.float32)


def _apply(fns: Any, episode: data.Episode) -> Any:
    """Calls one function, or each function of a nested structure, on episode."""
    if callable(fns):
        return fns(episode)
    return data.nested_map(lambda fn: fn(episode), fns, stop_fn=callable)


def _squeeze_ones(shape: Sequence[int]) -> tuple:
    return tuple(dim for dim in shape if dim != 1)


def _fit_leaf(kind: str, value: Any, signature: data.TensorSignature, n: int,
              where: str) -> np.ndarray:
    """One leaf of _fit: value checked, reshaped to [n] + shape and cast."""
    expected = tuple(signature.shape)
    if kind == 'mask' and value is None:
        return np.ones(n, dtype=signature.dtype)
    if value is None or isinstance(value, (dict, tuple, list)):
        raise ValueError(
            f'SupervisedTrainer: the {kind} for {where} is '
            f'{data.signatures.describe(value)}, expected one array of shape '
            f'[T] + {expected} for an episode of T = {n} transitions.')
    array = np.asarray(value)
    actual = array.shape[1:]
    if array.ndim == 0 or array.shape[0] != n or (
            actual != expected
            and _squeeze_ones(actual) != _squeeze_ones(expected)):
        raise ValueError(
            f'SupervisedTrainer: the {kind} for {where} has shape '
            f'{actual} per transition (an array of shape {array.shape} '
            f'for an episode of {n} transitions), but the network '
            f'signature expects {expected}. Bind a {kind} function that '
            f'fits this head, or change the network signature.')
    return array.reshape((n,) + expected).astype(signature.dtype, copy=False)


def _fit(kind: str, values: Any, signature: Any, n: int, root: str) -> Any:
    """Checks values against a signature; returns them reshaped and cast.

    A leaf fits its TensorSignature if it is [n] + shape, or if it differs
    from that only by dimensions of size 1 (e.g. [n] for shape (1,)). A mask
    leaf may be None, meaning weight 1.

    Args:
        kind: 'input', 'target' or 'mask' (for error messages).
        values: Nested arrays computed from an episode.
        signature: Nested TensorSignatures of one transition.
        n: The episode's length T.
        root: Which side of the network signature this is, 'input' or
            'output' (messages name a leaf as e.g. "output['value']").

    Returns:
        values structured like signature, leaves [n] + shape of its dtype.

    Raises:
        ValueError: naming the head, the expected and the actual shape (or
            nesting).
    """
    data.check_nesting(signature, values,
                       f'SupervisedTrainer {kind}s for the network {root}')
    leaves = data.leaves_with_paths(signature)
    flat = data.flatten_like(leaves, values, f'SupervisedTrainer {kind}s')
    return data.unflatten_like(signature, [
        _fit_leaf(kind, value, leaf.signature, n,
                  root + (leaf.location if leaf.path else ''))
        for leaf, value in zip(leaves, flat)])


# A function of the episode, or such functions nested like a signature.
_Functions = Union[Callable, Mapping[str, Any], Sequence[Any]]


@validation.configurable(module='alpacka.trainers')
class SupervisedTrainer(replay_trainer.ReplayTrainer):
    """Trains a network on (input, target) pairs made from every transition.

    ``add_episode`` turns each transition into a datapoint ``(input, target,
    mask)`` and puts it in the replay buffer (see ReplayTrainer);
    ``train_epoch`` runs ``n_steps_per_epoch`` training steps on batches
    sampled from the buffer.

    Args:
        network_signature: Signature of the trained network; the targets
            must fit its output (one target per output head).
        input: Function ``episode -> [T, ...]`` giving the network's input
            for every transition, or a nested structure of such functions
            shaped like the input signature.
        target: Function ``episode -> [T, ...]`` giving the training target,
            or a nested structure of such functions, one per output head (a
            single function may also return the whole nested structure).
        mask: None (every example has weight 1 and the batches carry no
            masks), or loss weights per example and head: a function
            ``episode -> [T]`` (the same weights for every head), or a
            nested structure like the output signature of such functions
            (None for weight 1).
        batch_size: Examples per training step.
        n_steps_per_epoch: Training steps per train_epoch().
        replay_buffer_capacity: Maximum number of transitions held (per
            bucket, when sampling is hierarchical).
        replay_buffer_sampling_hierarchy: Sequence of Episode attribute names
            (e.g. ``('solved',)``) or functions ``episode -> hashable label``.
            Batches are balanced across the labels level by level (see
            HierarchicalReplayBuffer); empty: uniform sampling.
        seed: Seed of the replay sampling; None derives one from the run's
            global seed (fresh entropy if there is none).
    """

    def __init__(
        self,
        # None gets require_network_signature's message.
        network_signature: Optional[data.NetworkSignature],
        input: _Functions = input_observation,  # pylint: disable=redefined-builtin
        target: _Functions = target_solved,
        mask: Optional[_Functions] = None,
        batch_size: Annotated[int, validation.AtLeast(1)] = 64,
        n_steps_per_epoch: Annotated[int, validation.AtLeast(0)] = 1000,
        replay_buffer_capacity: Annotated[
            int, validation.AtLeast(1)] = 1000000,
        replay_buffer_sampling_hierarchy: Sequence[Union[str, Callable]] = (),
        seed: Optional[int] = None,
    ):
        replay_trainer.require_network_signature(type(self), network_signature)
        sampling_hierarchy = tuple(replay_buffer_sampling_hierarchy)
        # A [T] float32 weight per example for every output head.
        mask_signature = None if mask is None else data.signature_map(
            lambda _: data.TensorSignature(shape=(), dtype=np.float32),
            network_signature.output)
        # (input, target, mask), each nested like the network's signature.
        super().__init__(
            network_signature,
            (network_signature.input, network_signature.output,
             mask_signature),
            batch_size=batch_size,
            replay_buffer_capacity=replay_buffer_capacity, seed=seed,
            seed_index=seeding.FromRunSeed.SUPERVISED_REPLAY,
            sampling_hierarchy_depth=len(sampling_hierarchy))
        self._input = input
        self._target = target
        self._mask = mask
        self._mask_signature = mask_signature
        self._n_steps_per_epoch = n_steps_per_epoch
        self._sampling_hierarchy = sampling_hierarchy

    def _bucket_label(self, episode: data.Episode,
                      level: Union[str, Callable]) -> Hashable:
        if callable(level):
            return level(episode)
        if not hasattr(episode, level):
            raise ValueError(
                f'SupervisedTrainer.replay_buffer_sampling_hierarchy names '
                f'{level!r}, which is not an Episode attribute (those are '
                f'{list(data.Episode._fields)}); give an attribute name or a '
                f'function episode -> label.')
        label = getattr(episode, level)
        return label.item() if isinstance(label, np.generic) else label

    def _datapoints(self, episode: data.Episode) -> tuple:
        """Inputs, targets and masks of every transition of the episode."""
        n = len(episode)
        signature = self._network_signature
        inputs = _fit('input', _apply(self._input, episode), signature.input,
                      n, 'input')
        targets = _fit('target', _apply(self._target, episode),
                       signature.output, n, 'output')
        masks = None
        if self._mask is not None:
            mask_values = _apply(self._mask, episode)
            if not data.is_signature(signature.output) and (
                    not isinstance(mask_values, (dict, tuple, list))):
                # One [T] array of weights for every head.
                mask_values = data.signature_map(lambda _: mask_values,
                                                 signature.output)
            masks = _fit('mask', mask_values, self._mask_signature, n,
                         'output')
        return inputs, targets, masks

    def add_episode(self, episode: data.Episode) -> None:
        """Adds every transition of the episode to the replay buffer.

        Args:
            episode: The episode.

        Raises:
            ValueError: The inputs, targets or masks do not fit the network
                signature (the message names the head and both shapes).
        """
        datapoints = self._datapoints(episode)
        self._add_to_replay(datapoints, [self._bucket_label(episode, level)
                                         for level in self._sampling_hierarchy])

    def train_epoch(self, network: Any) -> Dict[str, float]:
        """Trains the network for n_steps_per_epoch steps on replayed data.

        The network gets ``data_stream``, a zero-argument callable returning
        an iterator of ``(inputs, targets, masks)`` batches: inputs and
        targets nested like the network's signature with leaves [B, ...],
        masks nested like the output with [B] float weights (or None when no
        mask is configured).

        Args:
            network: A TrainableNetwork.

        Returns:
            The network's training metrics; {} (and no training) while the
            replay buffer is empty.
        """
        return self._train_on_replay(network, self._n_steps_per_epoch)

    def state_dict(self) -> Dict[str, Any]:
        """The replay buffer (data and sampling state) and its hierarchy depth."""
        return {'sampling_hierarchy_depth': len(self._sampling_hierarchy),
                **super().state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict().

        Raises:
            ValueError: The checkpoint was made with a different sampling
                hierarchy depth.
        """
        depth = state['sampling_hierarchy_depth']
        if depth != len(self._sampling_hierarchy):
            raise ValueError(
                f'The checkpoint\'s replay buffer has a sampling hierarchy of '
                f'depth {depth}, but replay_buffer_sampling_hierarchy is now '
                f'{self._sampling_hierarchy!r}; restore with the config it '
                f'was saved with.')
        super().load_state_dict(state)
