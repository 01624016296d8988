"""QLearningTrainer: the replay of DQN and its variants.

The trainer turns collected steps into n-step datapoints
(``alpacka.trainers.n_step``), keeps them in a uniform or prioritized replay
(frame stacks stored once per frame with ``frame_storage``), decides how
many updates the new data is owed (``alpacka.trainers.update_budget``) and
samples the batches; the update itself (double DQN, dueling, Huber, target
network) is the network's (``alpacka.networks.QNetwork``).
"""

import itertools
from typing import Annotated, Any, Dict, Hashable, Optional

import numpy as np

from alpacka import data
from alpacka import errors
from alpacka.networks import recurrent_q_network
from alpacka.trainers import frame_store as frame_store_lib
from alpacka.trainers import n_step as n_step_lib
from alpacka.trainers import prioritized_replay
from alpacka.trainers import replay_buffers
from alpacka.trainers import replay_trainer
from alpacka.trainers import update_budget
from alpacka.utils import seeding
from alpacka.utils import system_memory
from alpacka.utils import validation

# Tries to replace sampled datapoints whose frames were overwritten.
_MAX_RESAMPLES = 100


def linear_exponent(start: float, end: float, n_updates: int,
                    update: int) -> float:
    """Prioritized replay's importance exponent beta, annealed linearly from
    start to end over n_updates updates (Schaul et al. 2016, sec. 3.4)."""
    fraction = min(update / n_updates, 1.0) if n_updates else 1.0
    return start + fraction * (end - start)


@validation.configurable(module='alpacka.trainers')
class QLearningTrainer(update_budget.BudgetProperties,
                       replay_trainer.ReplayTrainer):
    """Keeps a replay of n-step transitions and trains a QNetwork on it.

    Each ``train_epoch`` performs ``updates_per_step`` updates per env step
    added since the previous one (0.25: an update every 4 steps, as in the
    Nature DQN), once the replay holds ``min_replay_size`` datapoints. A
    datapoint is ``(s_t, a_t, R_t, D_t, s_{t+n})`` with the n-step return
    ``R_t`` and the bootstrap discount ``D_t`` (``discount^n``, 0 when the
    window reached a terminal state; truncation is bootstrapped).

    Step-based collection hands over episodes in stretches; with n_step > 1
    or frame_storage the stretches of one episode are joined through
    ``agent_info['episode_id']``, which the Q-learning agents record.

    Prioritized replay (proportional, Schaul et al. 2016): datapoints are
    drawn with probability ``p_i^alpha / sum_k p_k^alpha``, p_i the last
    ``|TD error| + epsilon``; the loss is weighted by
    ``(N P(i))^-beta / max_j (N P(j))^-beta``, with beta annealed from
    importance_exponent to 1 over importance_anneal_updates updates.
    Sampling then reads the priorities the last update wrote, so batches are
    drawn between updates (``samples_use_network``).

    Args:
        network_signature: Signature of the QNetwork (observation in,
            (n_actions,) Q values out).
        n_step: Length of the reward window of the targets.
        discount: Per-step discount.
        batch_size: Datapoints per update.
        updates_per_step: Updates per env step added.
        min_replay_size: Datapoints needed before training starts.
        replay_buffer_capacity: Maximum number of datapoints held.
        prioritized: Prioritized replay instead of uniform.
        priority_exponent: alpha.
        importance_exponent: beta at the first update.
        importance_anneal_updates: Updates over which beta reaches 1.
        priority_epsilon: epsilon, keeping every priority positive.
        frame_storage: Store frame-stacked observations (shape (k, ...), as
            alpacka.envs.FrameStack makes them) once per frame: pixel
            replays then hold one frame per transition.
        seed: Seed of the replay sampling (None: derived from the run's seed).
    """

    def __init__(
            self,
            network_signature: Optional[data.NetworkSignature],
            n_step: Annotated[int, validation.AtLeast(1)] = 1,
            discount: Annotated[float, validation.InRange(0, 1)] = 0.99,
            batch_size: Annotated[int, validation.AtLeast(1)] = 32,
            updates_per_step: Annotated[float, validation.AtLeast(0)] = 0.25,
            min_replay_size: Annotated[int, validation.AtLeast(1)] = 1000,
            replay_buffer_capacity: Annotated[
                int, validation.AtLeast(1)] = 100_000,
            prioritized: bool = False,
            priority_exponent: Annotated[
                float, validation.InRange(0, 1)] = 0.6,
            importance_exponent: Annotated[
                float, validation.InRange(0, 1)] = 0.4,
            importance_anneal_updates: Annotated[
                int, validation.AtLeast(0)] = 100_000,
            priority_epsilon: Annotated[
                float, validation.GreaterThan(0)] = 1e-6,
            frame_storage: bool = False,
            seed: Optional[int] = None):
        replay_trainer.require_network_signature(type(self), network_signature)
        observation = self._check_signature(network_signature)
        self._frames = None
        stored_observation = observation
        if frame_storage:
            self._frames = self._make_frame_store(observation,
                                                  replay_buffer_capacity)
            stored_observation = data.TensorSignature((), np.int64)
        scalar = data.TensorSignature((), np.float32)
        datapoint = {'observation': stored_observation,
                     'action': data.TensorSignature((), np.int64),
                     'return': scalar, 'discount': scalar,
                     'next_observation': stored_observation}
        system_memory.check_fits(
            replay_buffers.datapoint_nbytes(datapoint) * replay_buffer_capacity
            + (self._frames.nbytes_capacity if self._frames else 0),
            f'QLearningTrainer\'s replay of {replay_buffer_capacity:,} '
            f'transitions', 'Lower QLearningTrainer.replay_buffer_capacity'
            + ('' if frame_storage else ', or store frame stacks once per '
               'frame with QLearningTrainer.frame_storage = True') + '.')
        buffer = None
        if prioritized:
            buffer = prioritized_replay.PrioritizedReplayBuffer(
                datapoint, replay_buffer_capacity,
                priority_exponent=priority_exponent,
                epsilon=priority_epsilon)
        super().__init__(
            network_signature, datapoint, batch_size=batch_size,
            replay_buffer_capacity=replay_buffer_capacity, seed=seed,
            seed_index=seeding.FromRunSeed.Q_REPLAY, replay_buffer=buffer)
        self._prioritized = prioritized
        self._importance = (importance_exponent, importance_anneal_updates)
        self._accumulator = n_step_lib.NStepAccumulator(n_step, discount)
        self._needs_episode_ids = n_step > 1 or frame_storage
        self._budget = update_budget.UpdateBudget(updates_per_step,
                                                  min_replay_size)
        self._n_sampled = 0  # Batches sampled: beta's clock.
        self._pending_slots = None  # Slots of the batch being trained on.
        # Newest observation id of each unfinished episode (frame_storage).
        self._last_frame_ids: Dict[Hashable, int] = {}
        self._whole_episodes = itertools.count()

    @staticmethod
    def _check_signature(network_signature: data.NetworkSignature
                         ) -> data.TensorSignature:
        output = network_signature.output
        if recurrent_q_network.is_recurrent_signature(network_signature):
            raise errors.ConfigError(
                f'QLearningTrainer trains feed-forward Q-networks on single '
                f'transitions, but the agent carries a recurrent state '
                f'(network signature {network_signature}). Use '
                f'alpacka.trainers.RecurrentQLearningTrainer with '
                f'RecurrentQAgent and RecurrentQNetwork.')
        if (not data.is_signature(network_signature.input) or
                not data.is_signature(output) or len(output.shape) != 1):
            raise errors.ConfigError(
                f'QLearningTrainer learns Q values of discrete actions: it '
                f'needs a network with one observation input and an output '
                f'of shape (n_actions,), as alpacka.agents.QAgent asks for on '
                f'a Discrete action space; the network signature is '
                f'{network_signature}. For continuous actions use '
                f'SoftActorCriticTrainer.')
        return network_signature.input

    @staticmethod
    def _make_frame_store(observation: data.TensorSignature,
                          capacity: int) -> Any:
        shape = tuple(observation.shape)
        if len(shape) < 2:
            raise errors.ConfigError(
                f'QLearningTrainer.frame_storage stores frame stacks (k, ...) '
                f'once per frame, but observations have shape {shape}. Wrap '
                f'the env in alpacka.envs.FrameStack, or set '
                f'QLearningTrainer.frame_storage = False.')
        return frame_store_lib.FrameStackStore(
            n_frames=shape[0],
            frame_signature=data.TensorSignature(shape[1:], observation.dtype),
            capacity_frames=frame_store_lib.frames_for(capacity, shape[0]))

    # -- Properties the Runner and the asynchronous pipeline read. ----------

    @property
    def samples_use_network(self) -> bool:
        """Prioritized sampling reads the priorities the last update wrote."""
        return self._prioritized

    @property
    def frame_store(self) -> Optional[Any]:
        """The FrameStackStore (frame_storage), else None."""
        return self._frames

    # -- Adding. -------------------------------------------------------------

    def add_episode(self, episode: data.Episode) -> None:
        """Adds a whole episode's transitions."""
        self._add_stretch(('episode', next(self._whole_episodes)),
                          n_step_lib.whole_episode_stretch(episode))

    def add_transitions(self, transition_batch: data.Transition) -> None:
        """Adds the next stretch of one episode (step-based collection).

        Raises:
            ValueError: the batch has no per-step terminated flags, or (with
                n_step > 1 or frame_storage) no ``agent_info['episode_id']``.
        """
        if transition_batch.terminated is None:
            raise ValueError('QLearningTrainer.add_transitions needs per-step '
                             'terminated flags (Transition.terminated).')
        key = n_step_lib.stretch_episode_id(transition_batch)
        if key is None:
            if self._needs_episode_ids:
                raise ValueError(
                    'QLearningTrainer with n_step > 1 or frame_storage joins '
                    'the stretches of an episode by agent_info["episode_id"], '
                    'which this agent does not record. Use a Q-learning agent '
                    '(alpacka.agents.QAgent, PolicyMixtureAgent).')
            # Each stretch stands alone: 1-step datapoints need no more.
            key = ('stretch', next(self._whole_episodes))
            transition_batch = transition_batch._replace(
                done=np.ones(len(transition_batch.reward), bool))
        self._add_stretch(key, transition_batch)

    def _add_stretch(self, key: Hashable, stretch: data.Transition) -> None:
        n_steps = len(stretch.reward)
        if n_steps == 0:
            return
        if self._frames is not None:
            stretch = self._store_frames(key, stretch)
        datapoints = self._accumulator.add(key, stretch)
        if datapoints is not None:
            self._add_datapoints(datapoints)
        self._budget.add(n_steps)

    def _store_frames(self, key: Hashable,
                      stretch: data.Transition) -> data.Transition:
        """The stretch with observations replaced by frame-store ids."""
        previous = self._last_frame_ids.pop(key, None)
        if previous is None:
            states = np.concatenate([stretch.observation[:1],
                                     stretch.next_observation])
            ids = self._frames.add_stretch(None, states)
        else:
            ids = np.concatenate([[previous], self._frames.add_stretch(
                previous, stretch.next_observation)])
        if not bool(np.asarray(stretch.done)[-1]):
            self._last_frame_ids[key] = int(ids[-1])
        return stretch._replace(observation=ids[:-1], next_observation=ids[1:])

    def _add_datapoints(self, datapoints: Dict[str, Any]) -> None:
        datapoints['action'] = np.asarray(datapoints['action'], np.int64)
        self._add_to_replay(datapoints)

    # -- Sampling. -----------------------------------------------------------

    def _importance_exponent(self) -> float:
        start, n_updates = self._importance
        return linear_exponent(start, 1.0, n_updates, self._n_sampled)

    def _apply_priorities(self, network: Any) -> None:
        """Writes the last update's TD errors as its batch's priorities."""
        td_errors = getattr(network, 'last_td_errors', None)
        if (self._pending_slots is not None and td_errors is not None and
                len(td_errors) == len(self._pending_slots)):
            self._replay_buffer.update_priorities(self._pending_slots,
                                                  np.abs(td_errors))
        self._pending_slots = None

    def _draw(self, batch_size: int) -> tuple:
        """(datapoints, slots or None, weights [B]) from the replay."""
        if self._prioritized:
            return self._replay_buffer.sample(batch_size,
                                              self._importance_exponent())
        return (self._replay_buffer.sample(batch_size), None,
                np.ones(batch_size, np.float32))

    def _draw_alive(self, batch_size: int) -> tuple:
        """Like _draw, replacing datapoints whose frames were overwritten."""
        batch, slots, weights = self._draw(batch_size)
        if self._frames is None:
            return batch, slots, weights
        for _ in range(_MAX_RESAMPLES):
            dead = ~(self._frames.alive(batch['observation']) &
                     self._frames.alive(batch['next_observation']))
            if not dead.any():
                return batch, slots, weights
            if slots is not None:  # Never draw them again.
                self._replay_buffer.discard(slots[dead])
            again, again_slots, again_weights = self._draw(int(dead.sum()))
            for key, values in again.items():
                batch[key][dead] = values
            weights[dead] = again_weights
            if slots is not None:
                slots[dead] = again_slots
        raise RuntimeError(
            'QLearningTrainer: the replay keeps drawing transitions whose '
            'frames were overwritten; the frame store is too small for the '
            'replay (a bug: please report it).')

    def _sample_batch(self, network: Any) -> Dict[str, np.ndarray]:
        """A training batch with the keys QNetwork trains on."""
        if self._prioritized:
            self._apply_priorities(network)
        batch, slots, weights = self._draw_alive(self._batch_size)
        self._pending_slots = slots
        self._n_sampled += 1
        if self._frames is not None:
            batch['observation'] = self._frames.get(batch['observation'])
            batch['next_observation'] = self._frames.get(
                batch['next_observation'])
        batch['weight'] = np.asarray(weights, np.float32)
        return batch

    # -- Training. -----------------------------------------------------------

    def train_epoch(self, network: Any) -> Dict[str, float]:
        """Runs the updates owed for the new steps (see the class).

        Returns:
            The network's mean metrics, 'n_updates' (and 'importance_exponent'
            with prioritized replay); {} while the replay is smaller than
            min_replay_size.
        """
        n_updates = self._budget.take(len(self._replay_buffer))
        if n_updates is None:
            return {}
        metrics = {}
        if n_updates:
            metrics = dict(self._train_on_replay(network, n_updates))
            if self._prioritized:
                self._apply_priorities(network)
        metrics['n_updates'] = float(n_updates)
        if self._prioritized:
            metrics['importance_exponent'] = self._importance_exponent()
        return metrics

    # -- Checkpoints. --------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        """Replay, waiting steps, update budget, beta's clock, frames."""
        return {**super().state_dict(), **self._budget.state_dict(),
                'n_step': self._accumulator.state_dict(),
                'n_sampled': self._n_sampled,
                'last_frame_ids': dict(self._last_frame_ids),
                'frames': (None if self._frames is None
                           else self._frames.state_dict())}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict().

        The episodes that were unfinished at the checkpoint do not continue
        (a resumed run starts fresh ones): their waiting steps are added
        with the shorter windows they had.
        """
        super().load_state_dict(state)
        self._budget.load_state_dict(state)
        self._n_sampled = state['n_sampled']
        if self._frames is not None:
            self._frames.load_state_dict(state['frames'])
        self._accumulator.load_state_dict(state['n_step'])
        self._last_frame_ids = {}
        flushed = self._accumulator.flush()
        if flushed is not None:
            self._add_datapoints(flushed)
