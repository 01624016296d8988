"""Tests for SoftActorCriticNetwork (real TensorFlow, tiny networks)."""

import gymnasium
import numpy as np
import pytest

from alpacka.networks import sac

OBS_SPACE = gymnasium.spaces.Box(-1.0, 1.0, (3,), np.float32)
BOX = gymnasium.spaces.Box(np.array([-2.0, 0.0], np.float32),
                           np.array([0.5, 3.0], np.float32))
DISCRETE = gymnasium.spaces.Discrete(3)


def _network(action_space, **kwargs):
    kwargs.setdefault('hidden_sizes', (16, 16))
    kwargs.setdefault('seed', 0)
    return sac.SoftActorCriticNetwork(
        sac.network_signature(OBS_SPACE, action_space), action_space, **kwargs)


def _batch(action_space, size=16, seed=0):
    rng = np.random.default_rng(seed)
    if isinstance(action_space, gymnasium.spaces.Discrete):
        action = rng.integers(action_space.n, size=size)
    else:
        action = rng.uniform(action_space.low, action_space.high,
                             size=(size,) + action_space.shape)
    return {'observation': rng.normal(size=(size, 3)).astype(np.float32),
            'action': action,
            'reward': rng.normal(size=size).astype(np.float32),
            'next_observation': rng.normal(size=(size, 3)).astype(np.float32),
            'terminated': (rng.random(size) < 0.3).astype(np.float32)}


def _n_model_weights(network):
    return len(network.params) - 1  # The last one is log_alpha.


def test_soft_td_target_bootstraps_truncated_not_terminal():
    target = sac.soft_td_target(
        reward=np.array([1.0, 1.0]), terminated=np.array([1.0, 0.0]),
        next_value=np.array([5.0, 5.0]), discount=0.9)
    np.testing.assert_allclose(target, [1.0, 1.0 + 0.9 * 5.0])


def test_critic_targets_match_hand_computation_discrete():
    network = _network(DISCRETE, discount=0.9, initial_alpha=0.7)
    batch = _batch(DISCRETE, size=4)
    # Rows 0 and 2 terminal; rows 1 and 3 truncated or mid-episode (both
    # have terminated = 0 and are bootstrapped).
    terminated = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    next_obs = batch['next_observation']
    q_1, q_2 = network.q_values(next_obs, target=True)
    logits = network.predict(next_obs)['logits'].astype(np.float64)
    log_pi = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    value = np.sum(np.exp(log_pi) * (np.minimum(q_1, q_2) - 0.7 * log_pi),
                   axis=1)
    expected = batch['reward'] + 0.9 * (1.0 - terminated) * value
    computed = network.critic_targets(batch['reward'], terminated, next_obs)
    np.testing.assert_allclose(computed, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(computed[[0, 2]], batch['reward'][[0, 2]])


def test_critic_targets_box_terminal_is_reward():
    network = _network(BOX)
    batch = _batch(BOX, size=6)
    terminated = np.array([1, 1, 1, 0, 0, 0], np.float32)
    computed = network.critic_targets(batch['reward'], terminated,
                                      batch['next_observation'])
    np.testing.assert_allclose(computed[:3], batch['reward'][:3])
    assert np.all(computed[3:] != batch['reward'][3:])


@pytest.mark.parametrize('action_space', [BOX, DISCRETE])
def test_updates_lower_critic_loss_on_fixed_batch(action_space):
    network = _network(action_space, critic_learning_rate=1e-2,
                       discount=0.5)
    batch = _batch(action_space)
    metrics = [network.update(batch) for _ in range(60)]
    assert metrics[-1]['critic_loss'] < 0.5 * metrics[0]['critic_loss']
    mean = network.train(lambda: iter([batch] * 3), 10)
    assert set(mean) >= {'critic_loss', 'actor_loss', 'alpha', 'entropy',
                         'q_mean'}


def test_targets_move_by_polyak_rate():
    network = _network(BOX, polyak=0.3, critic_learning_rate=1e-2)
    batch = _batch(BOX)
    for _ in range(3):  # Let online and target critics differ.
        network.update(batch)
    n_actor = len(network._actor.weights)  # pylint: disable=protected-access
    n_critic = len(network._critics[0].weights)  # pylint: disable=protected-access
    target_before = network.target_params
    network.update(batch)
    online = network.params[n_actor:n_actor + 2 * n_critic]
    target_after = network.target_params
    assert not np.allclose(target_before[0], online[0])
    for old, new, weights in zip(target_before, target_after, online):
        np.testing.assert_allclose(new, 0.7 * old + 0.3 * weights,
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('action_space', [BOX, DISCRETE])
def test_alpha_follows_entropy_target(action_space):
    batch = _batch(action_space)
    high = _network(action_space, target_entropy=10.0,
                    alpha_learning_rate=0.1)
    low = _network(action_space, target_entropy=-10.0,
                   alpha_learning_rate=0.1)
    high.update(batch)
    low.update(batch)
    assert high.alpha > 1.0
    assert low.alpha < 1.0


def test_auto_target_entropy():
    assert sac.auto_target_entropy(BOX) == -2.0
    assert sac.auto_target_entropy(DISCRETE) == pytest.approx(
        0.98 * np.log(3))


@pytest.mark.parametrize('numpy_inference', [False, True])
def test_box_actions_stay_within_asymmetric_bounds(numpy_inference):
    network = _network(BOX, numpy_inference=numpy_inference)
    observations = 100.0 * np.random.default_rng(1).normal(size=(500, 3))
    prediction = network.predict(observations)
    for key in ('mean', 'sample'):
        actions = prediction[key]
        assert actions.shape == (500, 2)
        assert np.all(actions >= BOX.low) and np.all(actions <= BOX.high)
    assert not np.allclose(prediction['mean'], prediction['sample'])


@pytest.mark.parametrize('action_space,key', [(BOX, 'mean'),
                                              (DISCRETE, 'logits')])
def test_numpy_inference_matches_tensorflow(action_space, key):
    numpy_network = _network(action_space, numpy_inference=True)
    tf_network = _network(action_space, numpy_inference=False)
    batch = _batch(action_space)
    numpy_network.predict(batch['observation'])  # Fills the cache.
    numpy_network.update(batch)  # Must invalidate it.
    tf_network.update(batch)
    observations = np.random.default_rng(2).normal(size=(7, 3))
    np.testing.assert_allclose(numpy_network.predict(observations)[key],
                               tf_network.predict(observations)[key],
                               rtol=1e-4, atol=1e-5)


def test_discrete_predict_gives_logits():
    network = _network(DISCRETE)
    assert network.predict(np.zeros((5, 3)))['logits'].shape == (5, 3)


def test_save_restore_round_trips_everything(tmp_path):
    batch = _batch(BOX)
    network = _network(BOX, seed=1)
    for _ in range(3):
        network.update(batch)
    path = str(tmp_path / 'sac.pkl')
    network.save(path)
    restored = _network(BOX, seed=2)
    restored.restore(path)
    for saved, loaded in zip(network.params, restored.params):
        np.testing.assert_array_equal(saved, loaded)
    metrics = network.update(batch)
    restored_metrics = restored.update(batch)
    assert metrics == restored_metrics
    for saved, loaded in zip(network.params, restored.params):
        np.testing.assert_array_equal(saved, loaded)


def test_nan_loss_raises_and_leaves_params(tmp_path):
    del tmp_path
    network = _network(DISCRETE)
    batch = _batch(DISCRETE)
    batch['reward'][0] = np.nan
    before = network.params
    with pytest.raises(FloatingPointError, match='non-finite'):
        network.train(lambda: iter([batch]), 1)
    for old, new in zip(before, network.params):
        np.testing.assert_array_equal(old, new)


def test_clone_has_equal_params():
    network = _network(DISCRETE)
    network.update(_batch(DISCRETE))
    clone = network.clone()
    for old, new in zip(network.params, clone.params):
        np.testing.assert_array_equal(old, new)
    observations = np.ones((2, 3))
    np.testing.assert_array_equal(network.predict(observations)['logits'],
                                  clone.predict(observations)['logits'])
    assert _n_model_weights(network) == _n_model_weights(clone)


def test_action_space_from_bounds_or_signature():
    signature = sac.network_signature(OBS_SPACE, BOX)
    space = sac.resolve_action_space(([-2.0, 0.0], [0.5, 3.0]), signature)
    assert space == BOX
    space = sac.resolve_action_space((-1.0, 1.0), signature)
    assert space.shape == (2,) and np.all(space.high == 1.0)
    assert sac.resolve_action_space(
        None, sac.network_signature(OBS_SPACE, DISCRETE)) == DISCRETE
    with pytest.raises(ValueError, match='needs action_space'):
        sac.resolve_action_space(None, signature)
