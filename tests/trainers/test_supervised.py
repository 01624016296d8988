"""Tests of alpacka.trainers.supervised."""

import subprocess
import sys

import gin
import numpy as np
import pytest

from alpacka import data
from alpacka import trainers
from alpacka.trainers import supervised

N_ACTIONS = 3
OBS_SIGNATURE = data.TensorSignature(shape=(4,), dtype=np.float32)
VALUE_SIGNATURE = data.NetworkSignature(
    input=OBS_SIGNATURE,
    output=data.TensorSignature(shape=(1,), dtype=np.float32))
TWO_HEAD_SIGNATURE = data.NetworkSignature(
    input=OBS_SIGNATURE,
    output={'value': data.TensorSignature(shape=(1,), dtype=np.float32),
            'policy': data.TensorSignature(shape=(N_ACTIONS,),
                                           dtype=np.float32)})


def _episode(rewards, solved=True, first_obs=0.0):
    """A hand-made episode; observation t is [first_obs + t] * 4."""
    n = len(rewards)
    steps = first_obs + np.arange(n, dtype=np.float64)
    observation = np.repeat(steps[:, None], 4, axis=1)
    histogram = np.zeros((n, N_ACTIONS))
    histogram[np.arange(n), np.arange(n) % N_ACTIONS] = 1.0
    agent_info = {
        'value': 10.0 * steps,  # [T], as stacked per-step floats come out.
        'action_histogram': histogram,
        'qualities': np.stack([steps, -steps, 2 * steps], axis=1),
    }
    done = np.zeros(n, dtype=bool)
    done[-1] = True
    transition_batch = data.Transition(
        observation=observation, action=np.arange(n) % N_ACTIONS,
        reward=np.asarray(rewards, dtype=np.float64), done=done,
        next_observation=observation + 1, agent_info=agent_info,
        terminated=done, truncated=np.zeros(n, dtype=bool))
    return data.Episode(transition_batch=transition_batch,
                        return_=float(np.sum(rewards)), solved=solved)


def _stored(trainer):
    buffer = trainer.replay_buffer
    return buffer.gather(np.arange(len(buffer)))


class _RecordingNetwork:
    """A test double of TrainableNetwork.train that keeps the batches."""

    def __init__(self):
        self.batches = []
        self.n_steps = None

    def train(self, data_stream, n_steps):
        """Records the whole stream; returns a fixed loss."""
        self.n_steps = n_steps
        self.batches = list(data_stream())
        return {'loss': 0.5}


def test_target_functions_on_hand_made_episode():
    episode = _episode([1.0, 0.0, 2.0], solved=True)
    np.testing.assert_array_equal(supervised.target_solved(episode),
                                  [[1.0], [1.0], [1.0]])
    np.testing.assert_array_equal(
        supervised.target_solved(_episode([1.0, 0.0, 2.0], solved=False)),
        [[0.0]] * 3)
    np.testing.assert_allclose(supervised.target_return(episode),
                               [[3.0], [2.0], [2.0]])
    np.testing.assert_allclose(
        supervised.target_discounted_return(episode, discount=0.5),
        [[1.5], [1.0], [2.0]])
    np.testing.assert_allclose(supervised.target_value(episode),
                               [[0.0], [10.0], [20.0]])
    np.testing.assert_array_equal(
        supervised.target_action_histogram(episode),
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(supervised.target_qualities(episode),
                                  [[0, 0, 0], [1, -1, 2], [2, -2, 4]])
    np.testing.assert_array_equal(supervised.mask_one(episode), [1, 1, 1])
    np.testing.assert_array_equal(supervised.input_observation(episode),
                                  episode.transition_batch.observation)


def test_target_functions_explain_missing_data():
    episode = _episode([1.0], solved=None)
    with pytest.raises(ValueError, match='solved'):
        supervised.target_solved(episode)
    episode = data.Episode(
        transition_batch=episode.transition_batch._replace(agent_info={}),
        return_=episode.return_)
    with pytest.raises(ValueError, match="agent_info\\['value'\\]"):
        supervised.target_value(episode)


def test_discounted_return_is_configurable_with_gin():
    gin.parse_config(
        'alpacka.trainers.supervised.target_discounted_return.discount = 0.5')
    np.testing.assert_allclose(
        supervised.target_discounted_return(_episode([1.0, 0.0, 2.0])),
        [[1.5], [1.0], [2.0]])


def test_add_episode_stores_inputs_and_targets():
    trainer = trainers.SupervisedTrainer(
        VALUE_SIGNATURE, target=supervised.target_return)
    trainer.add_episode(_episode([1.0, 0.0, 2.0]))
    trainer.add_episode(_episode([5.0], first_obs=7.0))
    inputs, targets, masks = _stored(trainer)
    assert masks is None
    assert inputs.dtype == np.float32 and targets.dtype == np.float32
    np.testing.assert_array_equal(inputs[:, 0], [0, 1, 2, 7])
    np.testing.assert_array_equal(targets, [[3], [2], [2], [5]])


def test_nested_targets_and_masks_per_head():
    trainer = trainers.SupervisedTrainer(
        TWO_HEAD_SIGNATURE,
        target={'value': supervised.target_value,
                'policy': supervised.target_action_histogram},
        mask={'value': None,
              'policy': lambda episode: np.full(len(episode), 0.25)})
    trainer.add_episode(_episode([0.0, 0.0]))
    _, targets, masks = _stored(trainer)
    np.testing.assert_array_equal(targets['value'], [[0], [10]])
    np.testing.assert_array_equal(targets['policy'], [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(masks['value'], [1, 1])
    np.testing.assert_array_equal(masks['policy'], [0.25, 0.25])


def test_one_mask_function_weighs_every_head():
    trainer = trainers.SupervisedTrainer(
        TWO_HEAD_SIGNATURE,
        target={'value': supervised.target_value,
                'policy': supervised.target_action_histogram},
        mask=supervised.mask_one, batch_size=8, n_steps_per_epoch=2)
    trainer.add_episode(_episode([0.0, 0.0, 1.0]))
    network = _RecordingNetwork()
    assert trainer.train_epoch(network) == {'loss': 0.5}
    inputs, targets, masks = network.batches[0]
    assert inputs.shape == (8, 4)
    assert targets['value'].shape == (8, 1)
    assert targets['policy'].shape == (8, N_ACTIONS)
    assert masks['value'].shape == masks['policy'].shape == (8,)
    assert masks['policy'].dtype == np.float32
    assert len(network.batches) == 2
    for _, _, batch_masks in network.batches:
        for head in ('value', 'policy'):
            np.testing.assert_array_equal(batch_masks[head], np.ones(8))


def _step_weights(episode):
    """Loss weight 1 + t for step t: [T] of float64 (cast to float32)."""
    return 1.0 + np.arange(len(episode), dtype=np.float64)


def _zero_weights(episode):
    return np.zeros(len(episode))


@pytest.mark.parametrize('mask, value_weights, policy_weights', [
    (supervised.mask_one, [1, 1, 1], [1, 1, 1]),
    (_step_weights, [1, 2, 3], [1, 2, 3]),
    ({'value': None, 'policy': _step_weights}, [1, 1, 1], [1, 2, 3]),
    ({'value': _step_weights, 'policy': _zero_weights}, [1, 2, 3], [0, 0, 0]),
])
@pytest.mark.parametrize('hierarchy', [(), ('solved',)])
def test_masks_reach_the_network_per_head_and_example(
        mask, value_weights, policy_weights, hierarchy):
    trainer = trainers.SupervisedTrainer(
        TWO_HEAD_SIGNATURE,
        target={'value': supervised.target_value,
                'policy': supervised.target_action_histogram},
        mask=mask, batch_size=16, n_steps_per_epoch=3,
        replay_buffer_sampling_hierarchy=hierarchy, seed=0)
    trainer.add_episode(_episode([0.0, 0.0, 1.0]))  # Observation t is [t] * 4.
    network = _RecordingNetwork()
    trainer.train_epoch(network)
    assert len(network.batches) == 3
    for inputs, targets, masks in network.batches:
        assert set(masks) == {'value', 'policy'}
        steps = inputs[:, 0].astype(int)
        assert len(set(steps.tolist())) > 1  # The batch mixes steps.
        for head, weights in (('value', value_weights),
                              ('policy', policy_weights)):
            assert masks[head].dtype == np.float32
            # Each example carries the weight of its own step.
            np.testing.assert_array_equal(masks[head],
                                          np.asarray(weights)[steps])
        # ... and its own targets, so masks and examples stay paired.
        np.testing.assert_array_equal(targets['value'][:, 0], 10.0 * steps)


def test_wrong_target_shape_names_head_and_shapes():
    trainer = trainers.SupervisedTrainer(
        TWO_HEAD_SIGNATURE,
        target={'value': supervised.target_action_histogram,
                'policy': supervised.target_action_histogram})
    with pytest.raises(ValueError) as error:
        trainer.add_episode(_episode([0.0, 1.0]))
    message = str(error.value)
    assert "output['value']" in message
    assert '(3,)' in message and '(1,)' in message
    assert len(trainer.replay_buffer) == 0


def test_wrong_target_structure_is_explained():
    trainer = trainers.SupervisedTrainer(
        TWO_HEAD_SIGNATURE, target=supervised.target_value)
    with pytest.raises(ValueError, match="dict with keys.*'policy'"):
        trainer.add_episode(_episode([0.0]))


def test_scalar_targets_fit_heads_that_differ_by_unit_dimensions():
    scalar_head = data.NetworkSignature(
        input=OBS_SIGNATURE, output=data.TensorSignature(shape=()))
    trainer = trainers.SupervisedTrainer(scalar_head,
                                         target=supervised.target_return)
    trainer.add_episode(_episode([1.0, 1.0]))
    np.testing.assert_array_equal(_stored(trainer)[1], [2.0, 1.0])


def test_train_epoch_streams_batches_and_skips_empty_buffer():
    trainer = trainers.SupervisedTrainer(
        VALUE_SIGNATURE, target=supervised.target_return, batch_size=16,
        n_steps_per_epoch=5, seed=0)
    network = _RecordingNetwork()
    assert not trainer.train_epoch(network)
    assert network.n_steps is None  # Not trained at all.
    trainer.add_episode(_episode([1.0, 0.0, 2.0]))
    assert trainer.train_epoch(network) == {'loss': 0.5}
    assert network.n_steps == 5 and len(network.batches) == 5
    for inputs, targets, masks in network.batches:
        assert inputs.shape == (16, 4) and targets.shape == (16, 1)
        assert masks is None
        # Every example pairs an observation with its own return-to-go.
        np.testing.assert_array_equal(targets[:, 0],
                                      np.array([3.0, 2.0, 2.0])[
                                          inputs[:, 0].astype(int)])


def test_hierarchy_balances_solved_and_unsolved():
    trainer = trainers.SupervisedTrainer(
        VALUE_SIGNATURE, replay_buffer_sampling_hierarchy=('solved',),
        batch_size=4000, n_steps_per_epoch=1, seed=0)
    for _ in range(20):
        trainer.add_episode(_episode([0.0] * 10, solved=False))
    trainer.add_episode(_episode([0.0], solved=True))
    network = _RecordingNetwork()
    trainer.train_epoch(network)
    _, targets, _ = network.batches[0]
    assert abs(targets.mean() - 0.5) < 0.05


def test_hierarchy_accepts_label_functions_and_rejects_bad_names():
    trainer = trainers.SupervisedTrainer(
        VALUE_SIGNATURE, target=supervised.target_return,
        replay_buffer_sampling_hierarchy=(len,))
    trainer.add_episode(_episode([0.0] * 3))
    trainer.add_episode(_episode([0.0] * 5))
    assert set(trainer.replay_buffer.buckets) == {(3,), (5,)}
    trainer = trainers.SupervisedTrainer(
        VALUE_SIGNATURE, replay_buffer_sampling_hierarchy=('sovled',))
    with pytest.raises(ValueError, match='sovled'):
        trainer.add_episode(_episode([0.0]))


@pytest.mark.parametrize('hierarchy', [(), ('solved',)])
def test_save_restore_round_trips_replay_buffer(tmp_path, hierarchy):
    def make_trainer(seed):
        return trainers.SupervisedTrainer(
            VALUE_SIGNATURE, target=supervised.target_return,
            mask=supervised.mask_one, batch_size=8, n_steps_per_epoch=3,
            replay_buffer_capacity=20,
            replay_buffer_sampling_hierarchy=hierarchy, seed=seed)

    trainer = make_trainer(seed=1)
    for i in range(6):
        trainer.add_episode(_episode([float(i)] * (i + 1), solved=i % 2 == 0,
                                     first_obs=10 * i))
    trainer.train_epoch(_RecordingNetwork())
    path = str(tmp_path / 'trainer.pkl')
    trainer.save(path)

    restored = make_trainer(seed=2)
    restored.restore(path)
    assert len(restored.replay_buffer) == len(trainer.replay_buffer)
    original_network, restored_network = _RecordingNetwork(), _RecordingNetwork()
    trainer.train_epoch(original_network)
    restored.train_epoch(restored_network)
    assert len(original_network.batches) == len(restored_network.batches) == 3
    for original, again in zip(original_network.batches,
                               restored_network.batches):
        for original_leaf, again_leaf in zip(data.nested_leaves(original),
                                             data.nested_leaves(again)):
            np.testing.assert_array_equal(original_leaf, again_leaf)


def test_restore_with_other_hierarchy_is_explained(tmp_path):
    trainer = trainers.SupervisedTrainer(VALUE_SIGNATURE)
    trainer.add_episode(_episode([0.0]))
    path = str(tmp_path / 'trainer.pkl')
    trainer.save(path)
    other = trainers.SupervisedTrainer(
        VALUE_SIGNATURE, replay_buffer_sampling_hierarchy=('solved',))
    with pytest.raises(ValueError, match='hierarchy'):
        other.restore(path)


def test_gin_config_builds_trainer_with_nested_targets():
    gin.parse_config("""
        import alpacka
        SupervisedTrainer.target = {
            'value': @alpacka.trainers.supervised.target_value,
            'policy': @alpacka.trainers.supervised.target_action_histogram,
        }
        SupervisedTrainer.batch_size = 4
    """)
    trainer = gin.get_configurable('alpacka.trainers.SupervisedTrainer')(
        TWO_HEAD_SIGNATURE)
    trainer.add_episode(_episode([0.0, 0.0]))
    np.testing.assert_array_equal(_stored(trainer)[1]['value'], [[0], [10]])


def test_train_epoch_with_keras_network_lowers_loss():
    # pylint: disable=import-outside-toplevel
    from alpacka.networks import keras as keras_networks

    signature = data.NetworkSignature(
        input=data.TensorSignature(shape=(2,), dtype=np.float32),
        output=data.TensorSignature(shape=(1,), dtype=np.float32))
    rng = np.random.default_rng(0)

    def linear_episode(n=32):
        # Target: 2 * x0 - x1 at every step; a learnable regression.
        observation = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
        transition_batch = data.Transition(
            observation=observation, action=np.zeros(n, dtype=np.int64),
            reward=np.zeros(n), done=np.zeros(n, dtype=bool),
            next_observation=observation,
            agent_info={'value': 2 * observation[:, 0] - observation[:, 1]})
        return data.Episode(transition_batch=transition_batch, return_=0.0)

    trainer = trainers.SupervisedTrainer(
        signature, target=supervised.target_value, batch_size=32,
        n_steps_per_epoch=100, seed=0)
    for _ in range(16):
        trainer.add_episode(linear_episode())
    network = keras_networks.KerasNetwork(signature, seed=0)
    first = trainer.train_epoch(network)['loss']
    for _ in range(2):
        last = trainer.train_epoch(network)['loss']
    assert last < 0.5 * first, (first, last)


def test_importing_alpacka_trainers_does_not_import_tensorflow():
    code = ('import sys, alpacka, alpacka.trainers.supervised; '
            'assert "tensorflow" not in sys.modules, "TensorFlow imported"')
    subprocess.run([sys.executable, '-c', code], check=True)


def test_train_epoch_feeds_nested_targets_and_masks_to_keras_network():
    # pylint: disable=import-outside-toplevel
    from alpacka.networks import keras as keras_networks

    trainer = trainers.SupervisedTrainer(
        TWO_HEAD_SIGNATURE,
        target={'value': supervised.target_value,
                'policy': supervised.target_action_histogram},
        mask={'value': supervised.mask_one, 'policy': None},
        batch_size=8, n_steps_per_epoch=3,
        replay_buffer_sampling_hierarchy=('solved',), seed=0)
    trainer.add_episode(_episode([0.0, 1.0, 0.0], solved=True))
    trainer.add_episode(_episode([0.0, 0.0], solved=False))
    network = keras_networks.KerasNetwork(TWO_HEAD_SIGNATURE, seed=0)
    metrics = trainer.train_epoch(network)
    assert {'loss', 'loss_value', 'loss_policy'} <= set(metrics)
    assert np.isfinite(metrics['loss'])
