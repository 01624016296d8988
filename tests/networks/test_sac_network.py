"""Tests for SoftActorCriticNetwork (real TensorFlow, tiny networks)."""

import gymnasium
import numpy as np
import pytest

from alpacka.networks import sac
from alpacka.utils import pickle_files

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


# -- CrossQ, normalisation, policy delay, Adam's beta1. ----------------------

CROSSQ = {'critic_hidden_sizes': (32, 32), 'critic_normalization':
          'batch_renorm', 'actor_normalization': 'batch_renorm',
          'target_critics': False, 'policy_delay': 3, 'adam_beta1': 0.5}


def _weights(model):
    return [np.array(weight) for weight in model.get_weights()]


def _changed(before, after):
    return any(not np.array_equal(old, new)
               for old, new in zip(before, after))


@pytest.mark.parametrize('action_space,options', [
    (BOX, CROSSQ), (DISCRETE, CROSSQ),
    (BOX, {'critic_normalization': 'layer', 'actor_normalization': 'layer'}),
    (DISCRETE, {'critic_normalization': 'layer', 'target_critics': False}),
    # Past the warm-up (r and d at work), with target critics.
    (BOX, dict(CROSSQ, batch_renorm_warmup=1, target_critics=True))])
def test_options_train_and_numpy_acting_matches_tensorflow(action_space,
                                                           options):
    network = _network(action_space, critic_learning_rate=1e-2,
                       discount=0.5, **options)
    batch = _batch(action_space)
    network.predict(batch['observation'])  # Fills the cache.
    metrics = [network.update(batch) for _ in range(20)]
    assert metrics[-1]['critic_loss'] < 0.7 * metrics[0]['critic_loss']
    # Predict uses inference mode (the moving statistics), in numpy as in
    # TensorFlow: no batch statistics, so one row alone gives the same.
    key = 'logits' if action_space is DISCRETE else 'mean'
    observations = np.random.default_rng(2).normal(size=(7, 3))
    by_numpy = network.predict(observations)[key]
    network._numpy_inference = False  # pylint: disable=protected-access
    np.testing.assert_allclose(by_numpy, network.predict(observations)[key],
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(by_numpy[:1], network.predict(
        observations[:1])[key], rtol=1e-4, atol=1e-5)
    n_targets = 0 if options.get('target_critics') is False else len(
        network._critics[0].weights) * 2  # pylint: disable=protected-access
    assert len(network.target_params) == n_targets


def test_crossq_joint_pass_statistics_cover_both_batches():
    network = _network(DISCRETE, **CROSSQ)
    batch = _batch(DISCRETE)
    network.update(batch)
    critic = network._critics[0]  # pylint: disable=protected-access
    # The critic's first layer renormalises its input, the observation:
    # one training pass over s and s' moved its mean from 0 towards theirs.
    input_mean = [w for w in critic.weights if 'moving_mean' in w.path][0]
    both = np.concatenate([batch['observation'], batch['next_observation']])
    np.testing.assert_allclose(input_mean.numpy(), 0.01 * both.mean(axis=0),
                               rtol=1e-5, atol=1e-7)
    assert network.target_params == []
    network.update_target()  # A no-op.
    with pytest.raises(ValueError, match='no target critics'):
        network.q_values(batch['observation'], target=True)


def test_policy_delay_updates_actor_every_kth_update_and_checkpoints(
        tmp_path):
    network = _network(BOX, policy_delay=3, adam_beta1=0.5)
    assert [optimizer.beta_1 for optimizer in network._optimizers] == [  # pylint: disable=protected-access
        0.5] * 3
    batch = _batch(BOX)
    actor, critic = network._actor, network._critics[0]  # pylint: disable=protected-access
    path = str(tmp_path / 'sac.pkl')
    actor_updated, critic_updated, metrics = [], [], []
    for step in range(6):
        if step == 4:  # One update after an actor update.
            network.save(path)
        actor_before, critic_before = _weights(actor), _weights(critic)
        alpha_before = network.alpha
        metrics.append(network.update(batch))
        actor_updated.append(_changed(actor_before, _weights(actor)))
        assert actor_updated[-1] == (network.alpha != alpha_before)
        critic_updated.append(_changed(critic_before, _weights(critic)))
    assert actor_updated == [False, False, True, False, False, True]
    assert all(critic_updated)
    assert metrics[3]['actor_loss'] == metrics[2]['actor_loss']
    # The counter round-trips: the restored network updates its actor on
    # the same step, with the same numbers.
    restored = _network(BOX, policy_delay=3, adam_beta1=0.5, seed=5)
    restored.restore(path)
    assert [restored.update(batch) for _ in range(2)] == metrics[4:]
    for mine, theirs in zip(restored.params, network.params):
        np.testing.assert_array_equal(mine, theirs)


def test_crossq_checkpoint_round_trips_statistics(tmp_path):
    network = _network(BOX, seed=1, **CROSSQ)
    batch = _batch(BOX)
    for _ in range(4):
        network.update(batch)
    path = str(tmp_path / 'crossq.pkl')
    network.save(path)
    restored = _network(BOX, seed=2, **CROSSQ)
    restored.restore(path)
    for saved, loaded in zip(network.params, restored.params):
        np.testing.assert_array_equal(saved, loaded)
    for _ in range(3):  # Crosses an actor update (the 6th).
        assert network.update(batch) == restored.update(batch)
    for saved, loaded in zip(network.params, restored.params):
        np.testing.assert_array_equal(saved, loaded)


def test_checkpoint_without_update_counter_still_restores(tmp_path):
    network = _network(DISCRETE)
    network.update(_batch(DISCRETE))
    path = str(tmp_path / 'old.pkl')
    network.save(path)
    state = pickle_files.load_pickle(path)
    del state['update_count'], state['last_actor_metrics']
    pickle_files.save_pickle(path, state)
    restored = _network(DISCRETE, seed=3)
    restored.restore(path)
    for saved, loaded in zip(network.params, restored.params):
        np.testing.assert_array_equal(saved, loaded)


@pytest.mark.parametrize('bad', [{'policy_delay': 0},
                                 {'critic_normalization': 'batch'},
                                 {'adam_beta1': 1.0},
                                 {'critic_hidden_sizes': (0,)}])
def test_bad_option_values_are_refused(bad):
    with pytest.raises(ValueError):
        _network(BOX, **bad)
