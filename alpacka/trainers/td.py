"""TDTrainer: n-step temporal-difference value targets from a target network.

The target network follows the one design of ``alpacka.networks.tensorflow_base``:
its weights live in the trained network (``update_target``, ``predict_target``)
and are saved with it; the trainer only decides when to refresh them.
"""

from typing import Annotated, Any, Callable, Dict, Mapping, Optional

import numpy as np

from alpacka import data
from alpacka.trainers import n_step as n_step_lib
from alpacka.trainers import replay_trainer
from alpacka.utils import seeding
from alpacka.utils import validation

# Its original home; the maths lives in alpacka.trainers.n_step.
n_step_returns = n_step_lib.n_step_returns


@validation.configurable(module='alpacka.trainers')
class TDTrainer(replay_trainer.ReplayTrainer):
    """Trains a value network on n-step TD targets from a target network.

    The value target of step t is ``R_t + D_t * V_target(s_{t+n})`` (see
    n_step_returns), computed when the batch is sampled, with the trained
    network's target weights (``network.predict_target``): a hard copy of its
    weights (``network.update_target()``) made before the first training
    epoch and then every ``target_update_period`` epochs. Terminal states
    are not bootstrapped; truncated episodes are. The network must keep
    target weights (KerasNetwork does; see
    ``alpacka.networks.tensorflow_base``).

    The network's output is either the value alone (a TensorSignature of
    shape (1,)) or a dict with the value under ``value_head``; the dict's
    other heads are trained on ``other_targets`` (functions of the episode,
    as SupervisedTrainer's targets, e.g. ``{'policy':
    @alpacka.trainers.supervised.target_action_histogram}``) or left out of
    the loss (mask 0) when they have none.

    Args:
        network_signature: Signature of the trained network.
        n_step: Length of the reward window of the targets.
        discount: Per-step discount.
        value_head: Key of the value in a dict output (ignored otherwise).
        other_targets: ``{head: fn(episode) -> [T, ...]}`` for other heads.
        target_update_period: Epochs between refreshes of the target weights.
        batch_size: Examples per training step.
        n_steps_per_epoch: Training steps per train_epoch().
        replay_buffer_capacity: Maximum number of transitions held.
        seed: Seed of the replay sampling (None: derived from the run's seed).
    """

    def __init__(
            self,
            # None gets require_network_signature's message.
            network_signature: Optional[data.NetworkSignature],
            n_step: Annotated[int, validation.AtLeast(1)] = 1,
            discount: Annotated[float, validation.InRange(0, 1)] = 0.99,
            value_head: str = 'value',
            other_targets: Optional[Mapping[str, Callable]] = None,
            target_update_period: Annotated[int, validation.AtLeast(1)] = 1,
            batch_size: Annotated[int, validation.AtLeast(1)] = 64,
            n_steps_per_epoch: Annotated[int, validation.AtLeast(0)] = 1000,
            replay_buffer_capacity: Annotated[
                int, validation.AtLeast(1)] = 1000000,
            seed: Optional[int] = None):
        replay_trainer.require_network_signature(type(self), network_signature)
        output = network_signature.output
        self._heads = self._check_heads(output, value_head,
                                        dict(other_targets or {}))
        self._value_head = value_head
        self._other_targets = dict(other_targets or {})
        self._n_step = n_step
        self._discount = discount
        self._target_update_period = target_update_period
        self._n_steps_per_epoch = n_steps_per_epoch

        scalar = data.TensorSignature((1,), np.float32)
        super().__init__(
            network_signature,
            {'input': network_signature.input,
             'bootstrap_input': network_signature.input,
             'partial_return': scalar, 'bootstrap_discount': scalar,
             'other_targets': {head: output[head]
                               for head in self._other_targets}},
            batch_size=batch_size,
            replay_buffer_capacity=replay_buffer_capacity, seed=seed,
            seed_index=seeding.FromRunSeed.TD_REPLAY)
        # Epochs trained since the last target refresh: due before the first.
        self._epochs_since_update = target_update_period
        # Target weights from a checkpoint of the older layout, for the
        # network at the next epoch (see load_state_dict).
        self._pending_target_params = None

    @staticmethod
    def _check_heads(output: Any, value_head: str,
                     other_targets: Dict[str, Callable]) -> Optional[list]:
        if data.is_signature(output):
            if tuple(output.shape) != (1,) or other_targets:
                raise ValueError(
                    f'TDTrainer: a network with one output must predict the '
                    f'value, shape (1,), with no other targets; its output is '
                    f'{output}.')
            return None
        if not isinstance(output, dict) or value_head not in output:
            raise ValueError(
                f'TDTrainer: the network output must be the value or a dict '
                f'with the value under {value_head!r}; it is {output}.')
        unknown = set(other_targets) - set(output)
        if unknown:
            raise ValueError(f'TDTrainer.other_targets names heads '
                             f'{sorted(unknown)} that the network does not '
                             f'have (it has {sorted(output)}).')
        return list(output)

    def add_episode(self, episode: data.Episode) -> None:
        """Adds every transition with its n-step return and bootstrap state."""
        batch = episode.transition_batch
        terminated = bool(data.terminal_flags(episode)[-1])
        partial_returns, bootstrap_index, bootstrap_discount = n_step_returns(
            batch.reward, terminated, self._n_step, self._discount)
        # s_0 .. s_T: the observations, then the last next_observation.
        states = data.nested_concatenate([
            batch.observation,
            data.nested_map(lambda leaf: leaf[-1:], batch.next_observation)])
        other_targets = {head: np.asarray(target_fn(episode))
                         for head, target_fn in self._other_targets.items()}
        self._add_to_replay({
            'input': batch.observation,
            'bootstrap_input': data.nested_map(
                lambda leaf: leaf[bootstrap_index], states),
            'partial_return': partial_returns[:, np.newaxis],
            'bootstrap_discount': bootstrap_discount[:, np.newaxis],
            'other_targets': other_targets,
        })

    def _value_of(self, prediction: Any) -> np.ndarray:
        if self._heads is None:
            return prediction
        return prediction[self._value_head]

    def _sample_batch(self, network: Any) -> tuple:
        """A sampled batch with its TD targets from the target weights."""
        sample = super()._sample_batch(network)
        bootstrap_values = self._value_of(
            network.predict_target(sample['bootstrap_input']))
        value_target = (sample['partial_return'] +
                        sample['bootstrap_discount'] * bootstrap_values)
        if self._heads is None:
            return sample['input'], value_target, None
        n = len(value_target)
        targets, masks = {}, {}
        for head in self._heads:
            signature = self._network_signature.output[head]
            if head == self._value_head:
                targets[head], masks[head] = value_target, np.ones(n, np.float32)
            elif head in self._other_targets:
                targets[head] = sample['other_targets'][head]
                masks[head] = np.ones(n, np.float32)
            else:
                targets[head] = np.zeros((n,) + tuple(signature.shape),
                                         signature.dtype)
                masks[head] = np.zeros(n, np.float32)
        return sample['input'], targets, masks

    def _refresh_target(self, network: Any) -> None:
        """Hands over restored target weights; hard-copies them when due."""
        if self._pending_target_params is not None:
            network.target_params = self._pending_target_params
            self._pending_target_params = None
        if self._epochs_since_update >= self._target_update_period:
            network.update_target()
            self._epochs_since_update = 0

    def train_epoch(self, network: Any) -> Dict[str, float]:
        """Trains n_steps_per_epoch steps; {} while the buffer is empty."""
        if len(self._replay_buffer) == 0:
            return {}
        self._refresh_target(network)
        metrics = self._train_on_replay(network, self._n_steps_per_epoch)
        self._epochs_since_update += 1
        return metrics

    def state_dict(self) -> Dict[str, Any]:
        """Replay buffer and the phase of the target refreshes.

        The target weights are the network's, saved in its own checkpoint.
        """
        return {**super().state_dict(),
                'epochs_since_update': self._epochs_since_update}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict().

        A state of the older layout also holds ``target_params``, the weights
        of the trainer's own target network then: they are given to the
        network at the next epoch (None: no target yet, a refresh is due).
        """
        super().load_state_dict(state)
        self._epochs_since_update = state['epochs_since_update']
        if 'target_params' in state:
            self._pending_target_params = state['target_params']
            if state['target_params'] is None:
                self._epochs_since_update = self._target_update_period
