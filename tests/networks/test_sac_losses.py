"""Tests of SAC's policy heads and losses against hand computations."""

import gymnasium
import numpy as np
import pytest

from alpacka.networks import sac
from alpacka.networks import sac_losses
from alpacka.networks import sac_policies
from alpacka.utils import pickle_files, tensorflow_import

BOX = gymnasium.spaces.Box(np.array([-2.0], np.float32),
                           np.array([4.0], np.float32))
DISCRETE = gymnasium.spaces.Discrete(3)


def _tf():
    return tensorflow_import.import_tensorflow()[0]


def test_gaussian_log_prob_is_the_density_of_the_squashed_action():
    tf = _tf()
    policy = sac_policies.GaussianPolicy(tf, BOX)
    actor_out = np.array([[0.3, -0.5], [-1.0, 0.2]], np.float32)
    evaluation = policy.evaluate(tf.constant(actor_out),
                                 tf.random.Generator.from_seed(0))
    action = evaluation.action.numpy()[:, 0]
    assert np.all((action > -2.0) & (action < 4.0))
    mean, std = actor_out[:, 0], np.exp(actor_out[:, 1])
    u = np.arctanh((action - 1.0) / 3.0)
    gaussian = (-0.5 * ((u - mean) / std) ** 2 - np.log(std)
                - 0.5 * np.log(2 * np.pi))
    expected = gaussian - np.log(1.0 - np.tanh(u) ** 2) - np.log(3.0)
    np.testing.assert_allclose(evaluation.log_prob.numpy(), expected,
                               rtol=1e-4, atol=1e-4)
    assert evaluation.probs is None


def test_categorical_expectations_are_exact_sums():
    tf = _tf()
    policy = sac_policies.CategoricalPolicy(tf, DISCRETE)
    logits = np.array([[0.0, 1.0, 2.0]], np.float32)
    evaluation = policy.evaluate(tf.constant(logits))
    probs = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(evaluation.probs.numpy(), probs, rtol=1e-6)
    values = tf.constant([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(evaluation.expect(tf, values).numpy(),
                               [np.sum(probs * [1.0, 2.0, 3.0])], rtol=1e-6)
    entropy = sac_losses.policy_entropy(tf, evaluation).numpy()
    np.testing.assert_allclose(entropy, -np.sum(probs * np.log(probs)),
                               rtol=1e-5)


def test_default_target_entropies_belong_to_the_heads():
    assert sac_policies.GaussianPolicy.default_target_entropy(BOX) == -1.0
    assert sac_policies.CategoricalPolicy.default_target_entropy(
        DISCRETE) == pytest.approx(0.98 * np.log(3))
    assert sac_policies.policy_class(DISCRETE) is sac_policies.CategoricalPolicy
    assert sac_policies.policy_class(BOX) is sac_policies.GaussianPolicy


def test_losses_match_their_equations():
    tf = _tf()
    gaussian = sac_policies.PolicyEvaluation(
        log_prob=tf.constant([-1.0, 0.5]))
    min_q = tf.constant([2.0, 3.0])
    alpha = tf.constant(0.5)
    np.testing.assert_allclose(
        sac_losses.soft_value(tf, min_q, gaussian, alpha).numpy(),
        [2.0 + 0.5, 3.0 - 0.25])
    np.testing.assert_allclose(
        sac_losses.actor_loss(tf, min_q, gaussian, alpha).numpy(),
        np.mean([-0.5 - 2.0, 0.25 - 3.0]))
    target = tf.constant([1.0, 1.0])
    q_taken = [tf.constant([1.0, 3.0]), tf.constant([0.0, 1.0])]
    np.testing.assert_allclose(
        sac_losses.critic_loss(tf, q_taken, target).numpy(),
        0.5 * (np.mean([0.0, 4.0]) + np.mean([1.0, 0.0])))
    # Entropy 0.2 below the target: the loss's gradient raises log alpha.
    log_alpha = tf.Variable(0.0)
    with tf.GradientTape() as tape:
        loss = sac_losses.temperature_loss(tf, log_alpha, tf.constant(1.0),
                                           1.2)
    assert tape.gradient(loss, log_alpha).numpy() == pytest.approx(-0.2)


def _sac_network(seed):
    obs_space = gymnasium.spaces.Box(-1.0, 1.0, (3,), np.float32)
    return sac.SoftActorCriticNetwork(sac.network_signature(obs_space, BOX),
                                      BOX, hidden_sizes=(8,), seed=seed)


def test_sac_params_leave_targets_out_and_format_1_restores(tmp_path):
    network = _sac_network(seed=0)
    network.update_target()
    n_targets = len(network.target_params)
    assert n_targets == len(network.params) - 1 - len(
        network._actor.weights)  # pylint: disable=protected-access
    # A format 1 file held the target critics inside params.
    n_online = len(network.params) - 1
    old_params = (network.params[:n_online] +
                  [t + 1.0 for t in network.target_params] +
                  network.params[-1:])
    path = str(tmp_path / 'sac.pkl')
    pickle_files.save_pickle(path, {
        'format': 1, 'params': old_params,
        'optimizers': network._optimizer_state(),  # pylint: disable=protected-access
        'rng_state': network._rng.state.numpy(),  # pylint: disable=protected-access
        'numpy_rng_state': network._numpy_rng.bit_generator.state})  # pylint: disable=protected-access
    restored = _sac_network(seed=1)
    restored.restore(path)
    for got, expected in zip(restored.params, network.params):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(restored.target_params, network.target_params):
        np.testing.assert_array_equal(got, expected + 1.0)


def test_joint_critic_loss_bootstraps_from_the_pass_without_gradient():
    tf = _tf()
    q_taken = [tf.constant([1.0, 2.0]), tf.constant([0.0, 2.5])]
    next_min_q = tf.constant([3.0, 4.0])
    next_policy = sac_policies.PolicyEvaluation(
        log_prob=tf.constant([-1.0, 2.0]))
    with tf.GradientTape() as tape:
        tape.watch(next_min_q)
        loss = sac_losses.joint_critic_loss(
            tf, q_taken, next_min_q, next_policy, tf.constant(0.5),
            reward=tf.constant([1.0, -1.0]), terminated=tf.constant([0.0, 1.0]),
            discount=0.9)
    # y = [1 + 0.9 * (3 + 0.5), -1] (the second terminal).
    target = np.array([1.0 + 0.9 * 3.5, -1.0])
    expected = 0.5 * (np.mean((np.array([1.0, 2.0]) - target) ** 2) +
                      np.mean((np.array([0.0, 2.5]) - target) ** 2))
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)
    assert tape.gradient(loss, next_min_q) is None
