"""Tests of ReplayTrainer, the base of the trainers that own a replay buffer."""

import numpy as np
import pytest

from alpacka import data
from alpacka import trainers
from alpacka.trainers import replay_buffers
from alpacka.trainers import replay_trainer
from alpacka.utils import seeding

SIGNATURE = data.NetworkSignature(input=data.TensorSignature((2,)),
                                  output=data.TensorSignature((1,)))
DATAPOINT = {'step': data.TensorSignature((), np.int64),
             'reward': data.TensorSignature((), np.float32)}
SEED_INDEX = 123


class _StepTrainer(replay_trainer.ReplayTrainer):
    """Stores (step, reward) per transition; trains n_steps per epoch."""

    def __init__(self, network_signature=SIGNATURE, n_steps=3, seed=None,
                 hierarchy_depth=0, **kwargs):
        kwargs.setdefault('batch_size', 4)
        kwargs.setdefault('replay_buffer_capacity', 100)
        super().__init__(network_signature, DATAPOINT, seed=seed,
                         seed_index=SEED_INDEX,
                         sampling_hierarchy_depth=hierarchy_depth, **kwargs)
        self.n_steps = n_steps
        self.n_epochs = 0

    def add_episode(self, episode, buckets=()):
        rewards = np.asarray(episode.transition_batch.reward, np.float32)
        self._add_to_replay({'step': np.arange(len(rewards)),
                             'reward': rewards}, buckets)

    def train_epoch(self, network):
        self.n_epochs += 1
        return self._train_on_replay(network, self.n_steps)

    def state_dict(self):
        return {**super().state_dict(), 'n_epochs': self.n_epochs}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.n_epochs = state['n_epochs']


class _TargetTrainer(_StepTrainer):
    """Overrides _sample_batch, as TD does, to add a target to samples."""

    def _sample_batch(self, network):
        sample = super()._sample_batch(network)
        return sample['step'], 2.0 * sample['reward']


class _RecordingNetwork:
    """A test double of TrainableNetwork.train: draws the stream lazily."""

    def __init__(self, n_pulls=None):
        self.n_pulls = n_pulls  # How many batches to draw (None: n_steps).
        self.calls = []

    def train(self, data_stream, n_steps):
        """Draws n_pulls (or n_steps) batches; records them."""
        stream = data_stream()
        batches = [batch for _, batch in zip(range(self.n_pulls or n_steps),
                                             stream)]
        self.calls.append((n_steps, batches))
        return {'loss': float(len(batches))}


def _episode(rewards):
    n = len(rewards)
    batch = data.Transition(
        observation=np.zeros((n, 2)), action=np.zeros(n, np.int64),
        reward=np.asarray(rewards, np.float32), done=np.arange(n) == n - 1,
        next_observation=np.zeros((n, 2)), agent_info={})
    return data.Episode(batch, float(np.sum(rewards)))


@pytest.fixture(name='global_seed')
def fixture_global_seed(monkeypatch):
    """The run's global seed is 7 for the test (numpy's own state untouched)."""
    monkeypatch.setattr(seeding, '_GLOBAL_SEED', 7)
    assert seeding.global_seed() == 7
    return 7


def test_is_exported_and_refuses_a_missing_network():
    assert trainers.ReplayTrainer is replay_trainer.ReplayTrainer
    with pytest.raises(ValueError, match='_StepTrainer needs a network '
                                         'signature.*DummyTrainer'):
        _StepTrainer(network_signature=None)
    with pytest.raises(ValueError, match='SupervisedTrainer needs a network'):
        trainers.SupervisedTrainer(None)
    with pytest.raises(ValueError, match='SoftActorCriticTrainer needs a '
                                         'network'):
        trainers.SoftActorCriticTrainer(None)


def test_the_seed_is_derived_from_the_runs_seed_with_the_sub_index(
        global_seed):
    trainer = _StepTrainer()
    trainer.add_episode(_episode(np.arange(20.0)))
    reference = replay_buffers.UniformReplayBuffer(DATAPOINT, capacity=100,
                                                   seed=seeding.derive_seed(
                                                       global_seed, SEED_INDEX))
    reference.add({'step': np.arange(20), 'reward': np.arange(20.0)})
    for _ in range(3):
        np.testing.assert_array_equal(trainer.replay_buffer.sample(16)['step'],
                                      reference.sample(16)['step'])


def test_a_given_seed_overrides_the_runs_seed_and_seed_reseeds(global_seed):
    del global_seed
    first, second = _StepTrainer(seed=5), _StepTrainer(seed=5)
    derived = _StepTrainer()
    for trainer in (first, second, derived):
        trainer.add_episode(_episode(np.arange(50.0)))
    draws = [trainer.replay_buffer.sample(32)['step']
             for trainer in (first, second, derived)]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2])
    derived.seed(5)
    first.seed(5)
    np.testing.assert_array_equal(derived.replay_buffer.sample(32)['step'],
                                  first.replay_buffer.sample(32)['step'])


def test_the_buffer_is_uniform_or_hierarchical_with_buckets():
    assert isinstance(_StepTrainer().replay_buffer,
                      replay_buffers.UniformReplayBuffer)
    trainer = _StepTrainer(hierarchy_depth=1, seed=0)
    assert isinstance(trainer.replay_buffer,
                      replay_buffers.HierarchicalReplayBuffer)
    trainer.add_episode(_episode([1.0] * 30), buckets=['long'])
    trainer.add_episode(_episode([2.0]), buckets=['short'])
    assert set(trainer.replay_buffer.buckets) == {('long',), ('short',)}
    rewards = trainer.replay_buffer.sample(2000)['reward']
    assert abs(np.mean(rewards == 2.0) - 0.5) < 0.05  # Balanced buckets.


def test_train_on_replay_streams_n_batches_lazily():
    trainer = _StepTrainer(n_steps=5, seed=0)
    network = _RecordingNetwork()
    assert trainer.train_epoch(network) == {}  # Empty replay: no training.
    assert not network.calls
    trainer.add_episode(_episode([0.0, 1.0, 2.0]))
    assert trainer.train_epoch(network) == {'loss': 5.0}
    n_steps, batches = network.calls[-1]
    assert n_steps == 5 and len(batches) == 5
    for batch in batches:
        assert batch['step'].shape == (4,)  # batch_size datapoints.
        np.testing.assert_array_equal(batch['reward'], batch['step'])
    # The stream ends after n_steps batches, however many are asked for.
    greedy = _RecordingNetwork(n_pulls=50)
    trainer.train_epoch(greedy)
    assert len(greedy.calls[-1][1]) == 5


def test_batches_are_drawn_only_as_the_network_asks():
    trainer, twin = _StepTrainer(n_steps=10, seed=0), _StepTrainer(seed=0)
    for each in (trainer, twin):
        each.add_episode(_episode(np.arange(30.0)))
    trainer.train_epoch(_RecordingNetwork(n_pulls=2))  # Draws 2 of 10.
    twin.replay_buffer.sample(4)
    twin.replay_buffer.sample(4)
    # The sampling generators are in step: nothing was drawn ahead.
    np.testing.assert_array_equal(trainer.replay_buffer.sample(8)['step'],
                                  twin.replay_buffer.sample(8)['step'])


def test_sample_batch_is_the_hook_for_targets():
    trainer = _TargetTrainer(n_steps=2, seed=0)
    trainer.add_episode(_episode([0.0, 1.0, 2.0, 3.0]))
    network = _RecordingNetwork()
    trainer.train_epoch(network)
    for steps, targets in network.calls[-1][1]:
        np.testing.assert_array_equal(targets, 2.0 * steps)


def test_state_dict_round_trips_replay_and_subclass_state(tmp_path):
    trainer = _StepTrainer(seed=1, n_steps=4)
    trainer.add_episode(_episode(np.arange(12.0)))
    trainer.train_epoch(_RecordingNetwork())
    state = trainer.state_dict()
    assert set(state) == {'replay_buffer', 'n_epochs'}
    path = str(tmp_path / 'trainer.pkl')
    trainer.save(path)

    restored = _StepTrainer(seed=2, n_steps=4)
    restored.restore(path)
    assert restored.n_epochs == 1
    assert len(restored.replay_buffer) == 12
    original_network, restored_network = _RecordingNetwork(), _RecordingNetwork()
    trainer.train_epoch(original_network)
    restored.train_epoch(restored_network)
    original_batches = original_network.calls[-1][1]
    restored_batches = restored_network.calls[-1][1]
    assert len(original_batches) == len(restored_batches) == 4
    for original, again in zip(original_batches, restored_batches):
        np.testing.assert_array_equal(original['step'], again['step'])


def test_checkpoint_keys_of_the_trainers_on_the_base_are_unchanged():
    supervised_trainer = trainers.SupervisedTrainer(SIGNATURE, seed=0)
    assert set(supervised_trainer.state_dict()) == {
        'sampling_hierarchy_depth', 'replay_buffer'}
    sac_signature = data.NetworkSignature(
        input=data.TensorSignature((3,)),
        output={'logits': data.TensorSignature((2,))})
    sac_trainer = trainers.SoftActorCriticTrainer(sac_signature, seed=0)
    assert set(sac_trainer.state_dict()) == {
        'replay_buffer', 'new_transitions', 'update_credit'}
