"""QLearningTrainer and its n-step accumulator, on hand-made episodes."""

import numpy as np
import pytest

from alpacka import data
from alpacka import errors
from alpacka.networks import q_network
from alpacka.trainers import n_step
from alpacka.trainers import q_learning
from alpacka.trainers import update_budget
from alpacka.utils import system_memory


def _stretch(observations, actions, rewards, terminated=False, truncated=False,
             episode_id=7):
    """Steps s_0..s_T of one episode's stretch: observations [T + 1]."""
    observations = np.asarray(observations, np.float32).reshape(-1, 1)
    n = len(actions)
    done = np.zeros(n, bool)
    done[-1] = terminated or truncated
    term = np.zeros(n, bool)
    term[-1] = terminated
    return data.Transition(
        observation=observations[:-1], action=np.asarray(actions),
        reward=np.asarray(rewards, np.float32), done=done,
        next_observation=observations[1:],
        agent_info={'episode_id': np.full(n, episode_id, np.int64)},
        terminated=term, truncated=done & ~term)


def _concat(batches):
    return {key: np.concatenate([batch[key] for batch in batches])
            for key in batches[0]}


@pytest.mark.parametrize('terminated', [True, False])
def test_n_step_datapoints_across_stretches_equal_whole_episode(terminated):
    rewards = [1.0, 2.0, 3.0, 4.0, 5.0]
    observations = [10, 11, 12, 13, 14, 15]
    whole = n_step.NStepAccumulator(3, 0.5).add(
        0, _stretch(observations, range(5), rewards, terminated,
                    not terminated))
    accumulator = n_step.NStepAccumulator(3, 0.5)
    parts = []
    for start, stop in ((0, 1), (1, 3), (3, 5)):
        last = stop == 5
        out = accumulator.add(0, _stretch(
            observations[start:stop + 1], range(start, stop),
            rewards[start:stop], terminated and last,
            (not terminated) and last))
        if out is not None:
            parts.append(out)
    joined = _concat(parts)
    for key in whole:
        np.testing.assert_allclose(np.asarray(joined[key]).ravel(),
                                   np.asarray(whole[key]).ravel())
    # Hand-computed: R_0 = 1 + 0.5 * 2 + 0.25 * 3, bootstrapped from s_3.
    assert whole['return'][0] == pytest.approx(2.75)
    assert whole['discount'][0] == pytest.approx(0.125)
    assert whole['next_observation'][0] == 13
    # The last step's window reaches the episode's end.
    assert whole['return'][4] == pytest.approx(5.0)
    assert whole['discount'][4] == pytest.approx(0.0 if terminated else 0.5)
    assert whole['next_observation'][4] == 15


def test_waiting_steps_flush_as_shorter_windows():
    accumulator = n_step.NStepAccumulator(3, 0.5)
    assert accumulator.add(1, _stretch([0, 1, 2], [0, 1], [1.0, 1.0])) is None
    assert accumulator.n_pending_steps == 2
    flushed = accumulator.flush()
    np.testing.assert_allclose(flushed['return'], [1.5, 1.0])
    np.testing.assert_allclose(flushed['discount'], [0.25, 0.5])
    np.testing.assert_allclose(flushed['next_observation'].ravel(), [2, 2])
    assert accumulator.n_pending_steps == 0


def test_update_budget_carries_fractions_and_waits_for_min_size():
    budget = update_budget.UpdateBudget(0.25, min_replay_size=10)
    budget.add(8)
    assert budget.take(replay_size=8) is None  # Too small: forgotten.
    budget.add(6)
    assert budget.take(replay_size=14) == 1  # 1.5 owed.
    budget.add(2)
    assert budget.take(replay_size=16) == 1  # 0.5 carried + 0.5.


def _trainer(**kwargs):
    signature = q_network.q_network_signature(
        data.TensorSignature((1,), np.float32), 2)
    return signature, q_learning.QLearningTrainer(signature, **kwargs)


def test_trainer_trains_owed_updates_and_checkpoints():
    signature, trainer = _trainer(n_step=2, min_replay_size=4,
                                  updates_per_step=0.5, batch_size=4, seed=0)
    network = q_network.QNetwork(signature, hidden_sizes=(8,), seed=0)
    trainer.add_transitions(_stretch([0, 1, 2, 3], [0, 1, 0], [1, 1, 1]))
    assert len(trainer.replay_buffer) == 2  # The last step waits.
    assert not trainer.train_epoch(network)
    trainer.add_transitions(_stretch([3, 4, 5], [1, 0], [1, 1],
                                     terminated=True))
    metrics = trainer.train_epoch(network)
    assert len(trainer.replay_buffer) == 5
    assert metrics['n_updates'] == 1.0 and np.isfinite(metrics['loss'])
    trainer.add_transitions(_stretch([20, 21], [0], [1.0], episode_id=9))
    state = trainer.state_dict()
    _, restored = _trainer(n_step=2, min_replay_size=4, batch_size=4)
    restored.load_state_dict(state)
    # The waiting step of the unfinished episode is added, shorter.
    assert len(restored.replay_buffer) == 6
    held = trainer.replay_buffer.gather(np.arange(5))
    restored_held = restored.replay_buffer.gather(np.arange(6))
    for key, values in held.items():
        np.testing.assert_array_equal(restored_held[key][:5], values)
    assert restored_held['return'][5] == 1.0
    assert restored_held['discount'][5] == pytest.approx(0.99)
    assert restored_held['next_observation'][5] == 21


def test_stretches_without_episode_ids_refused_for_n_step():
    _, trainer = _trainer(n_step=3)
    stretch = _stretch([0, 1, 2], [0, 1], [1, 1])._replace(agent_info={})
    with pytest.raises(ValueError, match='episode_id'):
        trainer.add_transitions(stretch)
    _, one_step = _trainer(n_step=1)
    one_step.add_transitions(stretch)
    assert len(one_step.replay_buffer) == 2


def test_continuous_action_network_refused():
    signature = data.NetworkSignature(
        data.TensorSignature((3,)), {'mean': data.TensorSignature((2,))})
    with pytest.raises(errors.ConfigError, match='SoftActorCriticTrainer'):
        q_learning.QLearningTrainer(signature)


def test_replay_larger_than_memory_refused_before_allocating():
    available = system_memory.available_bytes()
    capacity = available // 8 + 1  # Two float32 observations, and more.
    with pytest.raises(errors.ConfigError,
                       match='replay_buffer_capacity') as error:
        _trainer(replay_buffer_capacity=int(capacity))
    assert 'GiB' in str(error.value)


def test_importance_exponent_anneals_linearly():
    assert q_learning.linear_exponent(0.4, 1.0, 100, 0) == pytest.approx(0.4)
    assert q_learning.linear_exponent(0.4, 1.0, 100, 50) == pytest.approx(0.7)
    assert q_learning.linear_exponent(0.4, 1.0, 100, 500) == pytest.approx(1.0)
