"""QNetwork and the Q-learning maths, on hand-made batches."""

import numpy as np
import pytest

from alpacka import data
from alpacka.networks import q_losses
from alpacka.networks import q_network
from alpacka.utils import tensorflow_import

tf, _ = tensorflow_import.import_tensorflow()


def _signature(shape=(3,), n_actions=2, dtype=np.float32):
    return q_network.q_network_signature(data.TensorSignature(shape, dtype),
                                         n_actions)


def _batch(observation, next_observation, action, returns, discount,
           weight=None):
    n = len(action)
    return {'observation': np.asarray(observation, np.float32),
            'action': np.asarray(action, np.int64),
            'return': np.asarray(returns, np.float32),
            'discount': np.asarray(discount, np.float32),
            'next_observation': np.asarray(next_observation, np.float32),
            'weight': (np.ones(n, np.float32) if weight is None
                       else np.asarray(weight, np.float32))}


def test_double_dqn_bootstrap_takes_target_value_at_online_argmax():
    next_q_target = tf.constant([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]])
    next_q_online = tf.constant([[9.0, 0.0, 1.0], [0.0, 0.0, 7.0]])
    double = q_losses.bootstrap_values(tf, next_q_target, next_q_online, True)
    plain = q_losses.bootstrap_values(tf, next_q_target, None, False)
    np.testing.assert_allclose(double.numpy(), [1.0, 3.0])
    np.testing.assert_allclose(plain.numpy(), [5.0, 4.0])
    targets = q_losses.q_targets(np.array([1.0, 2.0]), np.array([0.9, 0.0]),
                                 double.numpy())
    np.testing.assert_allclose(targets, [1.0 + 0.9 * 1.0, 2.0])


def test_dueling_aggregation_subtracts_mean_advantage():
    value = tf.constant([[2.0], [-1.0]])
    advantages = tf.constant([[1.0, 3.0], [0.0, -4.0]])
    q = q_losses.dueling_q_values(tf, value, advantages).numpy()
    np.testing.assert_allclose(q, [[2.0 - 1.0, 2.0 + 1.0], [-1.0 + 2.0, -1.0 - 2.0]])


def test_huber_and_squared_losses_weighted():
    td = tf.constant([0.5, -3.0])
    weights = tf.constant([1.0, 0.5])
    huber = q_losses.td_loss(tf, td, weights, 'huber', 1.0).numpy()
    squared = q_losses.td_loss(tf, td, weights, 'squared').numpy()
    assert huber == pytest.approx((0.125 + 0.5 * (3.0 - 0.5)) / 2)
    assert squared == pytest.approx((0.125 + 0.5 * 4.5) / 2)


def test_taken_q_values_index_each_row():
    q = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(
        q_losses.taken_q_values(tf, q, tf.constant([1, 0])).numpy(), [2.0, 3.0])


def test_update_regresses_on_the_target_and_reports_td_errors():
    network = q_network.QNetwork(_signature(), hidden_sizes=(16,), seed=0,
                                 target_update_period=10 ** 6,
                                 learning_rate=1e-2, double_dqn=False)
    rng = np.random.default_rng(0)
    observation = rng.normal(size=(8, 3))
    next_observation = rng.normal(size=(8, 3))
    batch = _batch(observation, next_observation, [0, 1] * 4, np.ones(8),
                   np.full(8, 0.5))
    expected_target = 1.0 + 0.5 * network.predict_target(
        next_observation).max(axis=1)
    q_before = network.predict(observation)[np.arange(8), batch['action']]
    network.train(lambda: iter([batch]), 1)
    np.testing.assert_allclose(network.last_td_errors,
                               expected_target - q_before, rtol=1e-4, atol=1e-5)
    for _ in range(400):
        network.train(lambda: iter([batch]), 1)
    q_after = network.predict(observation)[np.arange(8), batch['action']]
    # The target network never moved, so the regression target is fixed.
    np.testing.assert_allclose(q_after, expected_target, atol=0.05)


def test_hard_target_update_every_k_updates():
    network = q_network.QNetwork(_signature(), hidden_sizes=(8,), seed=0,
                                 target_update_period=3, learning_rate=1e-2)
    x = np.ones((4, 3), np.float32)
    batch = _batch(x, x, [0, 1, 0, 1], np.ones(4), np.zeros(4))
    initial_target = network.predict_target(x)
    for update in range(1, 7):
        network.train(lambda: iter([batch]), 1)
        online, target = network.predict(x), network.predict_target(x)
        if update % 3 == 0:
            np.testing.assert_allclose(target, online)
        else:
            assert not np.allclose(target, online)
        if update < 3:
            np.testing.assert_allclose(target, initial_target)
    assert network.n_updates == 6


def test_polyak_target_update_averages_weights():
    network = q_network.QNetwork(_signature(), hidden_sizes=(8,), seed=0,
                                 target_update='polyak', polyak=0.25,
                                 learning_rate=1e-2)
    x = np.ones((4, 3), np.float32)
    batch = _batch(x, x, [0, 1, 0, 1], np.ones(4), np.zeros(4))
    target_before = network.target_params
    network.train(lambda: iter([batch]), 1)
    online_after = network.params
    for old, new, online in zip(target_before, network.target_params,
                                online_after):
        np.testing.assert_allclose(new, 0.75 * old + 0.25 * online, rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize('dueling', [False, True])
def test_numpy_inference_matches_tensorflow(dueling):
    network = q_network.QNetwork(_signature((2, 3), 4), hidden_sizes=(8, 8),
                                 dueling=dueling, seed=1)
    x = np.random.default_rng(1).normal(size=(5, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(network.predict(x),
                               network._predict_fns[0](x).numpy(),  # pylint: disable=protected-access
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('torso,shape', [('nature', (4, 84, 84)),
                                         ('minatar', (10, 10, 4))])
def test_conv_torsos_take_uint8_images(torso, shape):
    network = q_network.QNetwork(_signature(shape, 3, np.uint8), torso=torso,
                                 seed=0)
    x = np.random.default_rng(0).integers(0, 256, (2,) + shape).astype(np.uint8)
    assert network.predict(x).shape == (2, 3)
    weights = {tuple(w.shape) for w in network.params}
    if torso == 'nature':
        assert (8, 8, 4, 32) in weights and (3136, 512) in weights
    else:
        assert (3, 3, 4, 16) in weights and (1024, 128) in weights


def test_checkpoint_round_trip_keeps_targets_and_update_count(tmp_path):
    network = q_network.QNetwork(_signature(), hidden_sizes=(8,), seed=0,
                                 target_update_period=2)
    x = np.ones((4, 3), np.float32)
    batch = _batch(x, x * 2, [0, 1, 0, 1], np.ones(4), np.full(4, 0.9))
    for _ in range(3):
        network.train(lambda: iter([batch]), 1)
    path = str(tmp_path / 'q.ckpt')
    network.save(path)
    restored = q_network.QNetwork(_signature(), hidden_sizes=(8,), seed=5,
                                  target_update_period=2)
    restored.restore(path)
    assert restored.n_updates == 3
    for ours, theirs in zip(network.target_params, restored.target_params):
        np.testing.assert_array_equal(ours, theirs)
    network.train(lambda: iter([batch]), 1)
    restored.train(lambda: iter([batch]), 1)
    np.testing.assert_allclose(network.predict_target(x),
                               restored.predict_target(x), rtol=1e-6)


def test_wrong_signature_is_refused_with_the_fix():
    with pytest.raises(ValueError, match='QAgent'):
        q_network.QNetwork(data.NetworkSignature(
            data.TensorSignature((3,)), {'mean': data.TensorSignature((2,))}))
