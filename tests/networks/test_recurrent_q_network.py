"""Tests for RecurrentQNetwork: unrolls, the sequence update, targets."""

import numpy as np
import pytest

from alpacka import data
from alpacka import errors
from alpacka.networks import recurrent_q_network

_OBSERVATION = data.TensorSignature((3,), np.float32)
_N_ACTIONS = 2


def _network(cell='lstm', **kwargs):
    signature = recurrent_q_network.recurrent_q_signature(
        _OBSERVATION, _N_ACTIONS, cell, recurrent_size=6)
    return recurrent_q_network.RecurrentQNetwork(
        signature, hidden_sizes=(8,), seed=0, **kwargs)


def _random_state(network, batch_size, rng):
    return {key: rng.normal(size=(batch_size, 6)).astype(np.float32)
            for key in network.state_keys}


def _batch(network, rng, batch_size=3, length=6, burn_in=2, valid=(6, 4, 6),
           starts=(0, 0, 0)):
    """A hand-made sequence batch: random steps, some sequences padded;
    those with starts 1 begin an episode (from the zero state)."""
    mask = np.zeros((batch_size, length), np.float32)
    for row, n_valid in enumerate(valid):
        mask[row, :n_valid] = 1
    n_valid = np.asarray(valid)[:, None]
    steps = np.arange(length)[None]
    return {
        'observation': rng.normal(size=(batch_size, length + 1, 3)).astype(
            np.float32),
        'action': rng.integers(_N_ACTIONS, size=(batch_size, length)),
        'return': rng.normal(size=(batch_size, length)).astype(np.float32),
        'discount': np.where(rng.random((batch_size, length)) < 0.2, 0.0,
                             0.9).astype(np.float32),
        'bootstrap_index': np.minimum(steps + 2, n_valid).astype(np.int64),
        'mask': mask,
        'starts_episode': np.asarray(starts, np.float32),
        'weight': np.array([1.0, 0.5, 2.0], np.float32)[:batch_size],
        'initial_state': {
            key: value * (1 - np.asarray(starts, np.float32))[:, None]
            for key, value in _random_state(network, batch_size, rng).items()},
        'burn_in': burn_in,
    }


@pytest.mark.parametrize('cell', ['lstm', 'gru'])
def test_unroll_from_a_stored_state_equals_step_by_step_prediction(cell):
    network = _network(cell)
    rng = np.random.default_rng(0)
    observations = rng.normal(size=(4, 5, 3)).astype(np.float32)
    state = _random_state(network, 4, rng)
    q_unrolled, final = network.unroll(observations, state)
    step_state = state
    for t in range(5):
        out = network.predict({'observation': observations[:, t],
                               'state': step_state})
        np.testing.assert_allclose(out['q'], q_unrolled[:, t], rtol=1e-5,
                                   atol=1e-6)
        step_state = out['state']
    for key in network.state_keys:
        np.testing.assert_allclose(step_state[key], final[key], rtol=1e-5,
                                   atol=1e-6)
    # The state matters: from zeros the values differ.
    q_from_zeros, _ = network.unroll(observations, network.initial_state(4))
    assert not np.allclose(q_from_zeros, q_unrolled, atol=1e-4)


def _expected_loss(network, batch):
    """The masked squared-loss double-DQN targets, computed in numpy."""
    burn_in = batch['burn_in']
    q_online, _ = network.unroll(batch['observation'], batch['initial_state'])
    q_target, _ = network.unroll(batch['observation'], batch['initial_state'],
                                 target=True)
    total, count = 0.0, 0.0
    for row in range(len(batch['action'])):
        first = 0 if batch['starts_episode'][row] else burn_in
        for t in range(first, batch['action'].shape[1]):
            mask = batch['mask'][row, t]
            index = batch['bootstrap_index'][row, t]
            best = np.argmax(q_online[row, index])
            target = (batch['return'][row, t] + batch['discount'][row, t] *
                      q_target[row, index, best])
            td = target - q_online[row, t, batch['action'][row, t]]
            total += batch['weight'][row] * mask * 0.5 * td ** 2
            count += mask
    return total / count


def test_update_regresses_on_n_step_double_dqn_targets_within_the_sequence():
    network = _network(loss='squared', target_update_period=1000)
    rng = np.random.default_rng(1)
    # A target network unlike the online one, so double DQN matters.
    network.target_params = [w + rng.normal(scale=0.3, size=w.shape)
                             for w in network.params]
    # The first sequence starts an episode: it is trained on from step 0.
    batch = _batch(network, rng, starts=(1, 0, 0))
    expected = _expected_loss(network, batch)
    metrics = network.train(lambda: iter([batch]), 1)
    # The loss is the one before the step.
    assert metrics['loss'] == pytest.approx(expected, rel=1e-4)
    assert network.last_td_errors.shape == (3, 6)
    # Burn-in and padded steps have no TD error; priorities mix max and
    # mean over the trained steps.
    assert np.all(network.last_td_errors[0] != 0)
    assert np.all(network.last_td_errors[1, :2] == 0)
    assert np.all(network.last_td_errors[1, 4:] == 0)
    magnitude = np.abs(network.last_td_errors[0])
    assert network.last_priorities[0] == pytest.approx(
        0.9 * magnitude.max() + 0.1 * magnitude.mean(), rel=1e-5)


def test_burn_in_steps_get_no_gradient():
    rng = np.random.default_rng(2)
    first = _network()
    second = first.clone()
    batch = _batch(first, rng, burn_in=3)
    absurd = dict(batch)
    absurd['return'] = batch['return'].copy()
    absurd['return'][:, :3] = 1e6  # Targets of the burn-in steps.
    absurd['action'] = batch['action'].copy()
    absurd['action'][:, :3] = 1 - batch['action'][:, :3]
    absurd['mask'] = batch['mask'].copy()
    absurd['mask'][:, :3] = 1.0
    loss = first.train(lambda: iter([batch]), 1)['loss']
    absurd_loss = second.train(lambda: iter([absurd]), 1)['loss']
    assert absurd_loss == pytest.approx(loss, rel=1e-6)
    for after, absurd_after in zip(first.params, second.params):
        np.testing.assert_allclose(after, absurd_after, rtol=1e-6, atol=1e-7)
    # The burn-in observations still warm the state up.
    warmed = dict(batch)
    warmed['observation'] = batch['observation'].copy()
    warmed['observation'][:, :3] += 5.0
    assert first.train(lambda: iter([warmed]), 1)['loss'] != pytest.approx(
        second.train(lambda: iter([batch]), 1)['loss'], rel=1e-4)
    # In a sequence that starts an episode the first steps are trained on
    # (the losses are those before the step, from the same weights).
    second.params, second.target_params = first.params, first.target_params
    starting = dict(batch, starts_episode=np.ones(3, np.float32),
                    initial_state=first.initial_state(3))
    absurd_start = dict(absurd, starts_episode=np.ones(3, np.float32),
                        initial_state=first.initial_state(3))
    assert first.train(lambda: iter([absurd_start]), 1)['loss'] > (
        1e3 * second.train(lambda: iter([starting]), 1)['loss'])


def test_hard_target_copy_every_k_updates_and_checkpoint_round_trip(tmp_path):
    network = _network(target_update_period=2)
    rng = np.random.default_rng(3)
    batch = _batch(network, rng)
    network.train(lambda: iter([batch]), 1)
    assert any(not np.allclose(online, target) for online, target in
               zip(network.params, network.target_params))
    network.train(lambda: iter([batch]), 1)
    for online, target in zip(network.params, network.target_params):
        np.testing.assert_array_equal(online, target)
    network.train(lambda: iter([batch]), 1)
    path = str(tmp_path / 'network.pkl')
    network.save(path)
    restored = _network(target_update_period=2)
    restored.restore(path)
    assert restored.n_updates == 3
    for mine, theirs in zip(network.params + network.target_params,
                            restored.params + restored.target_params):
        np.testing.assert_array_equal(mine, theirs)
    # The optimizer state came along: the next update is the same.
    network.train(lambda: iter([batch]), 1)
    restored.train(lambda: iter([batch]), 1)
    for mine, theirs in zip(network.params, restored.params):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_refuses_a_feed_forward_signature_and_a_mismatched_cell():
    feed_forward = data.NetworkSignature(
        input=_OBSERVATION, output=data.TensorSignature((2,), np.float32))
    with pytest.raises(errors.NetworkSignatureError, match='RecurrentQAgent'):
        recurrent_q_network.RecurrentQNetwork(feed_forward)
    lstm_signature = recurrent_q_network.recurrent_q_signature(
        _OBSERVATION, 2, 'lstm', 6)
    with pytest.raises(errors.ConfigError, match='RecurrentQAgent.cell'):
        recurrent_q_network.RecurrentQNetwork(lstm_signature, cell='gru')
