"""Tests for TDTrainer: n-step targets, bootstrapping and the target network."""

import numpy as np
import pytest

from alpacka import data
from alpacka import networks
from alpacka.trainers import td

OBS = data.TensorSignature((1,), np.float32)
VALUE = data.TensorSignature((1,), np.float32)


class _RecordingNetwork(networks.TrainableNetwork):
    """V(s) = params * s, V_target(s) = target_params * s; train() records
    the batches it is given."""

    def __init__(self, network_signature=None, scale=1.0):
        super().__init__(network_signature)
        self._scale = scale
        self._target_scale = None
        self.batches = []

    def _predict_with(self, scale, inputs):
        prediction = scale * inputs
        if isinstance(self._network_signature.output, dict):
            return {'value': prediction,
                    'policy': np.zeros((len(inputs), 2), np.float32)}
        return prediction

    def predict(self, inputs):
        return self._predict_with(self._scale, inputs)

    @property
    def params(self):
        return self._scale

    @params.setter
    def params(self, new_params):
        self._scale = new_params

    def update_target(self):
        self._target_scale = self._scale

    def predict_target(self, inputs):
        return self._predict_with(self._target_scale, inputs)

    @property
    def target_params(self):
        return self._target_scale

    @target_params.setter
    def target_params(self, new_params):
        self._target_scale = new_params

    def train(self, data_stream, n_steps):
        self.batches.extend(data_stream())
        return {'loss': 0.0}


def _episode(rewards, terminated):
    n = len(rewards)
    observations = np.arange(n + 1, dtype=np.float32)[:, np.newaxis]
    batch = data.Transition(
        observation=observations[:-1], action=np.zeros(n, np.int64),
        reward=np.asarray(rewards, np.float32), done=np.arange(n) == n - 1,
        next_observation=observations[1:],
        agent_info={'action_histogram': np.tile([[0.25, 0.75]], (n, 1))},
        terminated=np.arange(n) == n - 1 if terminated else np.zeros(n, bool),
        truncated=np.zeros(n, bool) if terminated else np.arange(n) == n - 1)
    return data.Episode(batch, float(sum(rewards)), truncated=not terminated)


@pytest.mark.parametrize('terminated', [True, False])
def test_n_step_returns_by_hand(terminated):
    partial, index, discount = td.n_step_returns([1.0, 2.0, 4.0], terminated,
                                                 n_step=2, discount=0.5)
    np.testing.assert_allclose(partial, [1 + 0.5 * 2, 2 + 0.5 * 4, 4])
    np.testing.assert_array_equal(index, [2, 3, 3])
    last_two = [0.0, 0.0] if terminated else [0.25, 0.5]
    np.testing.assert_allclose(discount, [0.25] + last_two)


def _targets_of(trainer, network):
    trainer.train_epoch(network)
    pairs = {}
    for inputs, targets, _ in network.batches:
        value = targets['value'] if isinstance(targets, dict) else targets
        for observation, target in zip(inputs[:, 0], value[:, 0]):
            pairs[float(observation)] = float(target)
    network.batches.clear()
    return pairs


@pytest.mark.parametrize('terminated', [True, False])
def test_targets_bootstrap_from_target_network_except_terminal(terminated):
    signature = data.NetworkSignature(OBS, VALUE)
    trainer = td.TDTrainer(signature, n_step=2, discount=0.5, batch_size=32,
                           n_steps_per_epoch=4, seed=0)
    trainer.add_episode(_episode([1.0, 2.0, 4.0], terminated))
    network = _RecordingNetwork(signature, scale=10.0)  # V(s) = 10 s.
    targets = _targets_of(trainer, network)
    # s_0: 1 + 0.5*2 + 0.25 * V(s_2 = 2); s_1: 2 + 0.5*4 + 0.25 * V(s_3 = 3).
    assert targets[0.0] == pytest.approx(2 + 0.25 * 20)
    expected_tail = 0.0 if terminated else 0.25 * 30
    assert targets[1.0] == pytest.approx(4 + expected_tail)
    assert targets[2.0] == pytest.approx(4 + (0.0 if terminated else 0.5 * 30))


def test_target_network_is_refreshed_every_period():
    signature = data.NetworkSignature(OBS, VALUE)
    trainer = td.TDTrainer(signature, n_step=1, discount=1.0, batch_size=8,
                           n_steps_per_epoch=1, target_update_period=2, seed=0)
    trainer.add_episode(_episode([0.0, 0.0], terminated=False))
    network = _RecordingNetwork(signature, scale=1.0)
    assert _targets_of(trainer, network)[0.0] == pytest.approx(1.0)
    network.params = 5.0  # The trained network moves on ...
    assert _targets_of(trainer, network)[0.0] == pytest.approx(1.0)
    assert _targets_of(trainer, network)[0.0] == pytest.approx(5.0)


def test_other_heads_get_their_targets_or_zero_weight():
    signature = data.NetworkSignature(
        OBS, {'value': VALUE, 'policy': data.TensorSignature((2,))})
    from alpacka.trainers import supervised  # pylint: disable=import-outside-toplevel
    trainer = td.TDTrainer(
        signature, batch_size=4, n_steps_per_epoch=1, seed=0,
        other_targets={'policy': supervised.target_action_histogram})
    trainer.add_episode(_episode([1.0, 1.0], terminated=True))
    network = _RecordingNetwork(signature)
    trainer.train_epoch(network)
    _, targets, masks = network.batches[0]
    np.testing.assert_allclose(targets['policy'], [[0.25, 0.75]] * 4)
    np.testing.assert_array_equal(masks['policy'], np.ones(4))

    unmasked = td.TDTrainer(signature, batch_size=4, n_steps_per_epoch=1)
    unmasked.add_episode(_episode([1.0, 1.0], terminated=True))
    unmasked.train_epoch(network)
    _, _, masks = network.batches[-1]
    np.testing.assert_array_equal(masks['policy'], np.zeros(4))
    np.testing.assert_array_equal(masks['value'], np.ones(4))
    with pytest.raises(ValueError, match='qualities'):
        td.TDTrainer(signature, other_targets={'qualities': len})


def test_save_restore_round_trips_replay_and_target(tmp_path):
    signature = data.NetworkSignature(OBS, VALUE)
    trainer = td.TDTrainer(signature, batch_size=8, n_steps_per_epoch=1,
                           discount=1.0, target_update_period=2, seed=0)
    trainer.add_episode(_episode([1.0, 1.0, 1.0], terminated=False))
    network = _RecordingNetwork(signature, scale=3.0)
    trainer.train_epoch(network)
    trainer.save(str(tmp_path / 'trainer.ckpt'))

    restored = td.TDTrainer(signature, batch_size=8, n_steps_per_epoch=1,
                            discount=1.0, target_update_period=2, seed=0)
    restored.restore(str(tmp_path / 'trainer.ckpt'))
    assert len(restored.replay_buffer) == 3
    network.params = 100.0  # The target network must still be the saved one.
    network.batches.clear()
    targets = _targets_of(restored, network)
    assert targets[0.0] == pytest.approx(1 + 3.0)
    # The next epoch completes the period: the live network is copied.
    assert _targets_of(restored, network)[0.0] == pytest.approx(1 + 100.0)


def test_td_learns_values_of_a_chain_with_keras():
    signature = data.NetworkSignature(OBS, VALUE)
    network = networks.KerasNetwork(signature, learning_rate=0.01, seed=0)
    trainer = td.TDTrainer(signature, n_step=1, discount=0.5, batch_size=32,
                           n_steps_per_epoch=200, seed=0)
    # Reward 1 per step, 4 steps, terminal: V(s_t) = sum_k 0.5^k over the rest.
    trainer.add_episode(_episode([1.0] * 4, terminated=True))
    for _ in range(8):
        trainer.train_epoch(network)
    values = network.predict(np.arange(4, dtype=np.float32)[:, np.newaxis])
    np.testing.assert_allclose(values[:, 0], [1.875, 1.75, 1.5, 1.0],
                               atol=0.15)


def test_state_of_the_older_layout_hands_its_target_to_the_network():
    signature = data.NetworkSignature(OBS, VALUE)
    trainer = td.TDTrainer(signature, batch_size=8, n_steps_per_epoch=1,
                           discount=1.0, target_update_period=2, seed=0)
    trainer.add_episode(_episode([1.0, 1.0, 1.0], terminated=False))
    state = trainer.state_dict()
    # The older layout: the trainer's own target network's params.
    trainer.load_state_dict(dict(state, target_params=4.0,
                                 epochs_since_update=1))
    network = _RecordingNetwork(signature, scale=100.0)
    assert _targets_of(trainer, network)[0.0] == pytest.approx(1 + 4.0)
    assert network.target_params == 4.0
    # target_params None: no target was made yet, so the first epoch makes it.
    fresh = td.TDTrainer(signature, batch_size=8, n_steps_per_epoch=1,
                         discount=1.0, target_update_period=2, seed=0)
    fresh.load_state_dict(dict(state, target_params=None,
                               epochs_since_update=0))
    assert _targets_of(fresh, network)[0.0] == pytest.approx(1 + 100.0)
