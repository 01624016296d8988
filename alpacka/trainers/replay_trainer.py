"""ReplayTrainer: the base of trainers that learn from a replay buffer.

Trainers that keep their training data in a replay buffer (SupervisedTrainer
and SoftActorCriticTrainer; TDTrainer and the coming Q-learning trainers fit
it too) share one piece of bookkeeping, which lives here:

- the buffer, built from the nested signature of one datapoint: uniform, or
  hierarchical when sampling is balanced across episode labels;
- its seed: the one given, or one derived from the run's global seed with
  the subclass's own sub-index (fresh entropy when the run has no seed);
- the ``data_stream`` of sampled batches that ``network.train`` consumes;
- the checkpoint: ``state_dict()`` holds the buffer under ``'replay_buffer'``
  (its data and its sampling generator, so a restored trainer draws the same
  batches). A subclass with more state extends it::

      def state_dict(self):
          return {**super().state_dict(), 'update_credit': self._credit}

      def load_state_dict(self, state):
          super().load_state_dict(state)
          self._credit = state['update_credit']

A subclass turns what it is given into datapoints (``add_episode``, and
``add_transitions`` for step-based learners) and adds them with
``_add_to_replay``; it decides how many steps an epoch trains
(``train_epoch`` calling ``_train_on_replay``); and, when a batch is more
than sampled datapoints (e.g. TD targets computed with a target network at
sampling time), it overrides ``_sample_batch``.
"""

from typing import (Any, Callable, Dict, Hashable, Iterator, Optional,
                    Sequence, Union)

from alpacka import data
from alpacka.trainers import base
from alpacka.trainers import replay_buffers
from alpacka.utils import seeding

ReplayBuffer = Union[replay_buffers.UniformReplayBuffer,
                     replay_buffers.HierarchicalReplayBuffer]


def require_network_signature(
        trainer_class: type,
        network_signature: Optional[data.NetworkSignature]) -> None:
    """Refuses a missing network signature (the agent uses no network).

    Subclasses call it first, before they read the signature to build their
    datapoint signature.

    Raises:
        ValueError: network_signature is None.
    """
    if network_signature is None:
        raise ValueError(
            f'{trainer_class.__name__} needs a network signature, but the '
            f'agent uses no network. Use DummyTrainer for such agents.')


def make_replay_buffer(datapoint_signature: Any, capacity: int,
                       sampling_hierarchy_depth: int = 0) -> ReplayBuffer:
    """A UniformReplayBuffer, or a HierarchicalReplayBuffer of that depth (> 0).

    The buffer draws from fresh entropy until its seed() is called.
    """
    if sampling_hierarchy_depth:
        return replay_buffers.HierarchicalReplayBuffer(
            datapoint_signature, capacity=capacity,
            hierarchy_depth=sampling_hierarchy_depth)
    return replay_buffers.UniformReplayBuffer(datapoint_signature,
                                              capacity=capacity)


class ReplayTrainer(base.Trainer):  # pylint: disable=abstract-method
    """A Trainer that samples its training batches from a replay buffer.

    Abstract, like Trainer: a subclass writes add_episode and train_epoch.

    Args:
        network_signature: Signature of the trained network (not None).
        datapoint_signature: Nested TensorSignatures of one datapoint (shapes
            without the batch dimension), as the subclass adds them.
        batch_size: Datapoints per sampled batch.
        replay_buffer_capacity: Maximum number of datapoints held (per
            bucket, when sampling is hierarchical).
        seed: Seed of the replay sampling; None derives one from the run's
            global seed with seed_index (fresh entropy if there is none).
        seed_index: The subclass's sub-index of the replay seed under the
            run's seed (each trainer keeps its own, so seeded runs stay
            reproducible across versions).
        sampling_hierarchy_depth: 0 for uniform sampling, or the number of
            bucket labels per datapoint (see HierarchicalReplayBuffer).
        replay_buffer: A buffer the subclass built itself (e.g. a
            PrioritizedReplayBuffer), used instead of a uniform or
            hierarchical one.
    """

    def __init__(self, network_signature: data.NetworkSignature,
                 datapoint_signature: Any, *, batch_size: int,
                 replay_buffer_capacity: int, seed: Optional[int],
                 seed_index: int, sampling_hierarchy_depth: int = 0,
                 replay_buffer: Optional[Any] = None):
        super().__init__(network_signature)
        require_network_signature(type(self), network_signature)
        self._batch_size = batch_size
        # Not `replay_buffer or ...`: an empty buffer is falsy (len 0).
        if replay_buffer is None:
            replay_buffer = make_replay_buffer(
                datapoint_signature, replay_buffer_capacity,
                sampling_hierarchy_depth)
        self._replay_buffer = replay_buffer
        if seed is None:
            seed = seeding.derive_seed(seeding.global_seed(), seed_index)
        self.seed(seed)

    @property
    def batch_size(self) -> int:
        """Datapoints per sampled batch."""
        return self._batch_size

    @property
    def samples_use_network(self) -> bool:
        """Whether sampling a batch reads the network (a subclass overrides
        _sample_batch, e.g. for targets from target weights): then batches
        must be sampled between updates, not ahead of them in another
        thread."""
        return type(self)._sample_batch is not ReplayTrainer._sample_batch

    def sample_batch(self, network: Any) -> Any:
        """One training batch, as the data_stream of train_epoch yields them
        (for learners that stream batches themselves, such as asynchronous
        training)."""
        return self._sample_batch(network)

    @property
    def replay_buffer(self) -> ReplayBuffer:
        """The buffer of datapoints."""
        return self._replay_buffer

    def seed(self, seed: Optional[int]) -> None:
        """Reseeds the replay sampling.

        Args:
            seed: The seed, or None for fresh entropy.
        """
        self._replay_buffer.seed(seed)

    def _add_to_replay(self, stacked_datapoints: Any,
                       buckets: Sequence[Hashable] = ()) -> None:
        """Adds a batch of datapoints to the replay.

        Args:
            stacked_datapoints: Structure like the datapoint signature with
                leaves [N, ...].
            buckets: The bucket labels, root level first, when sampling is
                hierarchical (ignored otherwise).
        """
        if isinstance(self._replay_buffer,
                      replay_buffers.HierarchicalReplayBuffer):
            self._replay_buffer.add(stacked_datapoints, buckets)
        else:
            self._replay_buffer.add(stacked_datapoints)

    def _sample_batch(self, network: Any) -> Any:
        """One training batch: batch_size datapoints sampled from the replay.

        Override to turn samples into more (e.g. TD targets computed at
        sampling time from the network's target weights); the stream calls
        it once per training step.

        Args:
            network: The network being trained.
        """
        del network
        return self._replay_buffer.sample(self._batch_size)

    def _data_stream(self, network: Any,
                     n_batches: int) -> Callable[[], Iterator[Any]]:
        """The ``data_stream`` of network.train: n_batches of _sample_batch().

        Batches are drawn lazily, as the network asks for them.
        """
        def data_stream() -> Iterator[Any]:
            for _ in range(n_batches):
                yield self._sample_batch(network)
        return data_stream

    def _train_on_replay(self, network: Any, n_steps: int) -> Dict[str, float]:
        """Trains network for n_steps steps on batches from the replay.

        Args:
            network: A TrainableNetwork.
            n_steps: Training steps (batches).

        Returns:
            The network's training metrics; {} (and no training) while the
            replay is empty.
        """
        if len(self._replay_buffer) == 0:
            return {}
        return network.train(self._data_stream(network, n_steps), n_steps)

    def state_dict(self) -> Dict[str, Any]:
        """The replay buffer (data and sampling state), as plain numpy."""
        return {'replay_buffer': self._replay_buffer.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores the replay buffer from state_dict()."""
        self._replay_buffer.load_state_dict(state['replay_buffer'])
