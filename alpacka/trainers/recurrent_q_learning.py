"""RecurrentQLearningTrainer: the sequence replay of recurrent Q-learning.

R2D2-style (Kapturowski et al. 2019): collected steps are cut into
overlapping sequences that carry the agent's recurrent state at their first
step (``alpacka.trainers.sequence_replay``); the replay holds sequences and
the network (``alpacka.networks.RecurrentQNetwork``) trains on batches of
them, unrolled from the stored state after a burn-in. How many updates the
new data is owed is ``update_budget``'s, as for QLearningTrainer.
"""

import itertools
from typing import Annotated, Any, Dict, Hashable, Optional

import numpy as np

from alpacka import data
from alpacka import errors
from alpacka.networks import recurrent_q_network
from alpacka.trainers import n_step as n_step_lib
from alpacka.trainers import replay_buffers
from alpacka.trainers import replay_trainer
from alpacka.trainers import sequence_replay
from alpacka.trainers import update_budget
from alpacka.utils import seeding
from alpacka.utils import system_memory
from alpacka.utils import validation

# agent_info key of the per-step episode id the Q-learning agents record.
_PositiveInt = Annotated[int, validation.AtLeast(1)]


def _check_lengths(sequence_length: int, sequence_overlap: int,
                   burn_in: int) -> None:
    if sequence_overlap >= sequence_length:
        raise errors.ConfigError(
            f'RecurrentQLearningTrainer.sequence_overlap = {sequence_overlap} '
            f'must be smaller than sequence_length = {sequence_length}: '
            f'consecutive sequences start sequence_length - sequence_overlap '
            f'steps apart (R2D2: length 80, overlap 40).')
    if burn_in >= sequence_length:
        raise errors.ConfigError(
            f'RecurrentQLearningTrainer.burn_in = {burn_in} must be smaller '
            f'than sequence_length = {sequence_length}: the burn-in steps only '
            f'warm the recurrent state up, the loss is on the steps after '
            f'them (R2D2: length 80, burn-in 40).')


@validation.configurable(module='alpacka.trainers')
class RecurrentQLearningTrainer(update_budget.BudgetProperties,
                                replay_trainer.ReplayTrainer):
    """Keeps a replay of sequences and trains a RecurrentQNetwork on them.

    Episodes are cut into sequences of ``sequence_length`` steps, starting
    every ``sequence_length - sequence_overlap`` steps, the last one of an
    episode padded (see sequence_replay); each stores the state the agent
    acted from at its first step. An update samples ``batch_size``
    sequences uniformly; the network unrolls them from the stored states,
    the first ``burn_in`` steps without loss (but in sequences that start an
    episode), and regresses the other steps on n-step double-DQN targets
    within the sequence.

    Each ``train_epoch`` performs ``updates_per_step`` updates per env step
    added since the previous one, once ``min_replay_size`` env steps have
    reached the replay (each step counted once, though overlapping
    sequences hold some twice). Step-based collection hands episodes over
    in stretches, joined through ``agent_info['episode_id']``, which
    RecurrentQAgent records with ``agent_info['state']``.

    A sequence that starts an episode starts from the exact zero state: it
    is trained on from its first step, without burn-in.

    Args:
        network_signature: The signature of a RecurrentQNetwork (from
            RecurrentQAgent).
        sequence_length: Steps per sequence, burn-in included.
        sequence_overlap: Steps shared by consecutive sequences.
        burn_in: Steps at each sequence's start that only unroll the network.
        n_step: Length of the reward window of the targets.
        discount: Per-step discount.
        batch_size: Sequences per update.
        updates_per_step: Updates per env step added.
        min_replay_size: Env steps in the replay before training starts.
        replay_buffer_capacity: Maximum number of sequences held.
        seed: Seed of the replay sampling (None: derived from the run's seed).
    """

    def __init__(
            self,
            network_signature: Optional[data.NetworkSignature],
            sequence_length: _PositiveInt = 80,
            sequence_overlap: Annotated[int, validation.AtLeast(0)] = 40,
            burn_in: Annotated[int, validation.AtLeast(0)] = 40,
            n_step: _PositiveInt = 5,
            discount: Annotated[float, validation.InRange(0, 1)] = 0.997,
            batch_size: _PositiveInt = 32,
            updates_per_step: Annotated[float, validation.AtLeast(0)] = 0.25,
            min_replay_size: _PositiveInt = 1000,
            replay_buffer_capacity: _PositiveInt = 10_000,
            seed: Optional[int] = None):
        replay_trainer.require_network_signature(type(self), network_signature)
        if not recurrent_q_network.is_recurrent_signature(network_signature):
            raise errors.ConfigError(
                f'RecurrentQLearningTrainer trains a recurrent Q-network on '
                f'sequences that carry the agent\'s recurrent state, but the '
                f'agent\'s network signature has no state: '
                f'{network_signature}. Use alpacka.agents.RecurrentQAgent with '
                f'alpacka.networks.RecurrentQNetwork, or QLearningTrainer for '
                f'a feed-forward QAgent.')
        _check_lengths(sequence_length, sequence_overlap, burn_in)
        datapoint = sequence_replay.sequence_signature(
            network_signature.input['observation'],
            network_signature.input['state'], sequence_length)
        system_memory.check_fits(
            replay_buffers.datapoint_nbytes(datapoint) * replay_buffer_capacity,
            f'RecurrentQLearningTrainer\'s replay of '
            f'{replay_buffer_capacity:,} sequences of {sequence_length} steps',
            'Lower RecurrentQLearningTrainer.replay_buffer_capacity or '
            'sequence_length.')
        super().__init__(
            network_signature, datapoint, batch_size=batch_size,
            replay_buffer_capacity=replay_buffer_capacity, seed=seed,
            seed_index=seeding.FromRunSeed.RECURRENT_Q_REPLAY)
        self._burn_in = burn_in
        self._accumulator = sequence_replay.SequenceAccumulator(
            sequence_length, sequence_overlap, n_step, discount)
        self._budget = update_budget.UpdateBudget(updates_per_step,
                                                  min_replay_size)
        self._whole_episodes = itertools.count()

    # -- Properties the Runner and the asynchronous pipeline read. ----------

    @property
    def samples_use_network(self) -> bool:
        """Sampling reads only the replay."""
        return False

    @property
    def burn_in(self) -> int:
        """Steps at each sequence's start without loss."""
        return self._burn_in

    # -- Adding. -------------------------------------------------------------

    def add_episode(self, episode: data.Episode) -> None:
        """Adds a whole episode's steps."""
        self._add_stretch(('episode', next(self._whole_episodes)),
                          n_step_lib.whole_episode_stretch(episode))

    def add_transitions(self, transition_batch: data.Transition) -> None:
        """Adds the next stretch of one episode (step-based collection).

        Raises:
            ValueError: the batch has no per-step terminated flags, or no
                ``agent_info['episode_id']``.
        """
        if transition_batch.terminated is None:
            raise ValueError('RecurrentQLearningTrainer.add_transitions needs '
                             'per-step terminated flags '
                             '(Transition.terminated).')
        key = n_step_lib.stretch_episode_id(transition_batch)
        if key is None:
            raise ValueError(
                'RecurrentQLearningTrainer joins the stretches of an episode '
                'by agent_info["episode_id"], which this agent does not '
                'record. Use alpacka.agents.RecurrentQAgent.')
        self._add_stretch(key, transition_batch)

    def _add_stretch(self, key: Hashable, stretch: data.Transition) -> None:
        n_steps = len(stretch.reward)
        if n_steps == 0:
            return
        if sequence_replay.STATE not in (stretch.agent_info or {}):
            raise ValueError(
                'RecurrentQLearningTrainer stores with each sequence the '
                'recurrent state the agent acted from at its start '
                '(agent_info["state"]), which this agent does not record. Use '
                'alpacka.agents.RecurrentQAgent.')
        self._add_sequences(self._accumulator.add(key, stretch))
        self._budget.add(n_steps)

    def _add_sequences(self, sequences: Optional[Dict[str, Any]]) -> None:
        if sequences is not None:
            self._add_to_replay(sequences)

    # -- Sampling and training. ----------------------------------------------

    def _sample_batch(self, network: Any) -> Dict[str, Any]:
        """A batch of sequences with the keys RecurrentQNetwork trains on."""
        del network
        batch = self._replay_buffer.sample(self._batch_size)
        batch['weight'] = np.ones(self._batch_size, np.float32)
        batch['burn_in'] = self._burn_in
        return batch

    def train_epoch(self, network: Any) -> Dict[str, float]:
        """Runs the updates owed for the new steps (see the class).

        Returns:
            The network's mean metrics and 'n_updates'; {} while fewer than
            min_replay_size steps reached the replay.
        """
        n_updates = self._budget.take(self._accumulator.n_steps_cut)
        if n_updates is None:
            return {}
        metrics = {}
        if n_updates:
            metrics = dict(self._train_on_replay(network, n_updates))
        metrics['n_updates'] = float(n_updates)
        return metrics

    # -- Checkpoints. --------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        """Replay, waiting steps, update budget."""
        return {**super().state_dict(), **self._budget.state_dict(),
                'sequences': self._accumulator.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict().

        The episodes unfinished at the checkpoint do not continue (a resumed
        run starts fresh ones): their waiting steps are cut into sequences
        as if truncated there.
        """
        super().load_state_dict(state)
        self._budget.load_state_dict(state)
        self._accumulator.load_state_dict(state['sequences'])
        self._add_sequences(self._accumulator.flush())
