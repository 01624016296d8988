"""Tests for SoftActorCriticTrainer."""

import gymnasium
import numpy as np
import pytest

from alpacka import data
from alpacka import networks
from alpacka.networks import sac as sac_network
from alpacka.trainers import sac

OBS_SPACE = gymnasium.spaces.Box(-1.0, 1.0, (3,), np.float32)
BOX = gymnasium.spaces.Box(np.array([-2.0], np.float32),
                           np.array([0.5], np.float32))
DISCRETE = gymnasium.spaces.Discrete(2)


class _CountingNetwork(networks.TrainableNetwork):
    """Records how many updates it was asked for and the batches it drew."""

    def __init__(self):
        super().__init__(None)
        self.n_steps = []
        self.batches = []

    def predict(self, inputs):
        raise NotImplementedError

    @property
    def params(self):
        return None

    @params.setter
    def params(self, new_params):
        del new_params

    def train(self, data_stream, n_steps):
        stream = data_stream()
        for _ in range(n_steps):
            self.batches.append(next(stream))
        self.n_steps.append(n_steps)
        return {'critic_loss': 0.0}


def _episode(length, action_space, truncated=False, with_terminated=True,
             seed=0):
    rng = np.random.default_rng(seed)
    observations = rng.normal(size=(length + 1, 3)).astype(np.float32)
    actions = np.stack([action_space.sample() for _ in range(length)])
    terminated = np.zeros(length, bool)
    terminated[-1] = not truncated
    truncated_flags = np.zeros(length, bool)
    truncated_flags[-1] = truncated
    batch = data.Transition(
        observation=observations[:-1], action=actions,
        reward=rng.normal(size=length).astype(np.float32),
        done=terminated | truncated_flags,
        next_observation=observations[1:], agent_info={},
        terminated=terminated if with_terminated else None,
        truncated=truncated_flags if with_terminated else None)
    return data.Episode(transition_batch=batch, return_=0.0,
                        truncated=truncated)


def _trainer(action_space=DISCRETE, **kwargs):
    kwargs.setdefault('batch_size', 4)
    kwargs.setdefault('min_replay_size', 1)
    kwargs.setdefault('seed', 0)
    return sac.SoftActorCriticTrainer(
        sac_network.network_signature(OBS_SPACE, action_space), **kwargs)


def test_action_signature_from_network_output():
    assert _trainer(DISCRETE).replay_buffer.sample  # Builds.
    trainer = _trainer(BOX)
    trainer.add_episode(_episode(3, BOX))
    assert trainer.replay_buffer.sample(2)['action'].shape == (2, 1)
    trainer = _trainer(DISCRETE)
    trainer.add_episode(_episode(3, DISCRETE))
    assert trainer.replay_buffer.sample(2)['action'].dtype == np.int64


@pytest.mark.parametrize('truncated', [False, True])
@pytest.mark.parametrize('with_terminated', [False, True])
def test_terminal_flag_only_on_terminal_last_step(truncated, with_terminated):
    trainer = _trainer()
    trainer.add_episode(_episode(4, DISCRETE, truncated=truncated,
                                 with_terminated=with_terminated))
    terminated = trainer.replay_buffer.gather(np.arange(4))['terminated']
    np.testing.assert_array_equal(
        terminated, [0, 0, 0, 0 if truncated else 1])


def test_performs_updates_per_new_transition():
    trainer = _trainer(updates_per_step=1.5, min_replay_size=10)
    network = _CountingNetwork()
    trainer.add_episode(_episode(6, DISCRETE))
    assert not trainer.train_epoch(network)  # Below min_replay_size.
    trainer.add_episode(_episode(5, DISCRETE, seed=1))
    metrics = trainer.train_epoch(network)  # 5 new transitions count.
    assert metrics['n_updates'] == 7  # 7.5: the half carries over.
    trainer.add_episode(_episode(3, DISCRETE, seed=2))
    trainer.train_epoch(network)  # 0.5 + 4.5 = 5.
    assert network.n_steps == [7, 5]
    assert all(len(batch['reward']) == 4 for batch in network.batches)
    assert trainer.train_epoch(network) == {'n_updates': 0.0}


def test_replay_is_part_of_the_checkpoint(tmp_path):
    trainer = _trainer(updates_per_step=0.5)
    trainer.add_episode(_episode(5, DISCRETE))
    path = str(tmp_path / 'trainer.pkl')
    trainer.save(path)
    restored = _trainer(updates_per_step=0.5, seed=123)
    restored.restore(path)
    assert len(restored.replay_buffer) == 5
    network, restored_network = _CountingNetwork(), _CountingNetwork()
    trainer.train_epoch(network)
    restored.train_epoch(restored_network)
    assert network.n_steps == restored_network.n_steps == [2]
    for batch, restored_batch in zip(network.batches,
                                     restored_network.batches):
        for key in batch:
            np.testing.assert_array_equal(batch[key], restored_batch[key])


def test_trains_a_real_network():
    network = sac_network.SoftActorCriticNetwork(
        sac_network.network_signature(OBS_SPACE, BOX), BOX,
        hidden_sizes=(8,), seed=0)
    trainer = _trainer(BOX, batch_size=8)
    trainer.add_episode(_episode(10, BOX))
    before = data.nested_leaves(network.params)
    metrics = trainer.train_epoch(network)
    assert metrics['n_updates'] == 10
    assert np.isfinite(metrics['critic_loss'])
    after = data.nested_leaves(network.params)
    assert any(not np.array_equal(old, new)
               for old, new in zip(before, after))  # The updates took place.


def test_add_transitions_keeps_per_step_flags_and_needs_them():
    trainer = _trainer()
    episode = _episode(5, DISCRETE, truncated=True)
    batch = episode.transition_batch._replace(
        terminated=np.array([False, True, False, False, False]))
    trainer.add_transitions(batch)
    stored = trainer.replay_buffer.gather(np.arange(5))
    # A step marked terminated is not bootstrapped; a truncated one is.
    np.testing.assert_array_equal(stored['terminated'], [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(stored['reward'], batch.reward)
    np.testing.assert_array_equal(stored['next_observation'],
                                  batch.next_observation)
    with pytest.raises(ValueError, match='terminated'):
        trainer.add_transitions(batch._replace(terminated=None))
    assert len(trainer.replay_buffer) == 5
