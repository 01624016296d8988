"""SoftActorCriticTrainer: off-policy updates of a SoftActorCriticNetwork."""

from typing import Annotated, Any, Dict, Optional

import numpy as np

from alpacka import data
from alpacka.trainers import replay_trainer
from alpacka.trainers import update_budget
from alpacka.utils import seeding
from alpacka.utils import validation


def _action_signature(network_signature: data.NetworkSignature
                      ) -> data.TensorSignature:
    """The action's signature, read from the network's output signature.

    ``{'logits': (n,)}`` means Discrete actions (int64 scalars);
    ``{'mean': shape, ...}`` means Box actions of that shape (float32).
    """
    output = network_signature.output
    if isinstance(output, dict) and 'logits' in output:
        return data.TensorSignature((), np.int64)
    if isinstance(output, dict) and 'mean' in output:
        return data.TensorSignature(tuple(output['mean'].shape), np.float32)
    raise ValueError(
        f'SoftActorCriticTrainer cannot tell the action signature from the '
        f'network output {output}; pass action_signature (or use '
        f'alpacka.networks.sac.network_signature).')


@validation.configurable(module='alpacka.trainers')
class SoftActorCriticTrainer(update_budget.BudgetProperties,
                             replay_trainer.ReplayTrainer):
    """Keeps a replay of transitions and runs Soft Actor-Critic updates.

    Each ``train_epoch`` performs ``updates_per_step`` updates per transition
    added since the previous ``train_epoch`` (fractions carry over), on
    batches of ``batch_size`` sampled uniformly from the replay. While the
    replay holds fewer than ``min_replay_size`` transitions nothing is
    trained, and the transitions added meanwhile do not count towards later
    updates.

    Args:
        network_signature: Signature of the SoftActorCriticNetwork (see
            alpacka.networks.sac.network_signature).
        batch_size: Transitions per update.
        updates_per_step: Updates per new transition.
        min_replay_size: Transitions needed before training starts.
        replay_buffer_capacity: Maximum number of transitions held.
        action_signature: TensorSignature of one action (None: read from the
            network's output signature).
        seed: Seed of the replay sampling (None: derived from the run's seed).
    """

    def __init__(
            self,
            # None gets require_network_signature's message.
            network_signature: Optional[data.NetworkSignature],
            batch_size: Annotated[int, validation.AtLeast(1)] = 256,
            updates_per_step: Annotated[float, validation.AtLeast(0)] = 1.0,
            min_replay_size: Annotated[int, validation.AtLeast(0)] = 1000,
            replay_buffer_capacity: Annotated[
                int, validation.AtLeast(1)] = 1000000,
            action_signature: Optional[data.TensorSignature] = None,
            seed: Optional[int] = None):
        replay_trainer.require_network_signature(type(self), network_signature)
        if action_signature is None:
            action_signature = _action_signature(network_signature)
        observation = network_signature.input
        scalar = data.TensorSignature((), np.float32)
        super().__init__(
            network_signature,
            {'observation': observation, 'action': action_signature,
             'reward': scalar, 'next_observation': observation,
             'terminated': scalar},
            batch_size=batch_size,
            replay_buffer_capacity=replay_buffer_capacity, seed=seed,
            seed_index=seeding.FromRunSeed.SAC_REPLAY)
        self._action_signature = action_signature
        self._budget = update_budget.UpdateBudget(updates_per_step,
                                                  min_replay_size)

    def add_episode(self, episode: data.Episode) -> None:
        """Adds the episode's transitions, with data.terminal_flags as
        ``terminated`` (a truncated step is bootstrapped)."""
        self._add(episode.transition_batch, data.terminal_flags(episode))

    def add_transitions(self, transition_batch: data.Transition) -> None:
        """Adds a stretch of steps (step-based collection); steps marked
        ``terminated`` are not bootstrapped, truncated ones are.

        Raises:
            ValueError: the batch has no ``terminated`` flags.
        """
        if transition_batch.terminated is None:
            raise ValueError(
                'SoftActorCriticTrainer.add_transitions needs per-step '
                'terminated flags (Transition.terminated).')
        self._add(transition_batch, transition_batch.terminated)

    def _add(self, batch: data.Transition, terminated: Any) -> None:
        n = len(batch.reward)
        self._add_to_replay({
            'observation': batch.observation,
            'action': np.asarray(batch.action,
                                 self._action_signature.dtype).reshape(
                                     (n,) + tuple(self._action_signature.shape)),
            'reward': np.asarray(batch.reward, np.float32).reshape(n),
            'next_observation': batch.next_observation,
            'terminated': np.asarray(terminated, np.float32).reshape(n),
        })
        self._budget.add(n)

    def train_epoch(self, network: Any) -> Dict[str, float]:
        """Runs the updates owed for the new transitions (see the class).

        Returns:
            The network's mean metrics and 'n_updates'; {} while the replay
            is smaller than min_replay_size.
        """
        n_updates = self._budget.take(len(self._replay_buffer))
        if n_updates is None:
            return {}
        if n_updates == 0:
            return {'n_updates': 0.0}
        metrics = dict(self._train_on_replay(network, n_updates))
        metrics['n_updates'] = float(n_updates)
        return metrics

    def state_dict(self) -> Dict[str, Any]:
        """Replay buffer and the update bookkeeping."""
        return {**super().state_dict(), **self._budget.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict()."""
        super().load_state_dict(state)
        self._budget.load_state_dict(state)
