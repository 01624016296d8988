"""Tests for the sequence replay: cutting, overlap, padding, n-step targets
within a sequence, and RecurrentQLearningTrainer's checkpoints and checks."""

import numpy as np
import pytest

from alpacka import data
from alpacka import errors
from alpacka import trainers
from alpacka.networks import recurrent_q_network
from alpacka.trainers import sequence_replay

_SIGNATURE = recurrent_q_network.recurrent_q_signature(
    data.TensorSignature((2,), np.float32), 2, 'lstm', recurrent_size=3)


def _episode(n_steps, terminated=True, first_id=0):
    """A hand-made episode: observation t is [t, -t], reward t + 1, state
    h = c = t (as if the agent had acted from it)."""
    t = np.arange(n_steps, dtype=np.float32) + first_id
    observation = np.stack([t, -t], axis=1)
    done = np.zeros(n_steps, bool)
    done[-1] = True
    return data.Transition(
        observation=observation, action=np.arange(n_steps) % 2,
        reward=t + 1, done=done, next_observation=observation + [1, -1],
        agent_info={'episode_id': np.full(n_steps, 7, np.int64),
                    'state': {'h': np.repeat(t[:, None], 3, axis=1),
                              'c': np.repeat(t[:, None], 3, axis=1)}},
        terminated=done & terminated, truncated=done & (not terminated))


def _pieces(transition, sizes):
    """The transition cut into stretches of the given sizes (the last ones
    carry done)."""
    stops = np.cumsum(sizes)
    starts = stops - sizes
    return [data.nested_map(lambda leaf, a=a, b=b: leaf[a:b], transition)
            for a, b in zip(starts, stops)]


@pytest.mark.parametrize('n_steps, ended, continued, expected', [
    (7, True, False, [0, 2, 4]),     # 4 holds steps 4..6, padded.
    (8, True, False, [0, 2, 4]),     # 6 would hold only steps 4..7's 6, 7.
    (9, True, False, [0, 2, 4, 6]),
    (7, False, False, [0, 2]),       # Only complete ones before the end.
    (3, True, False, [0]),
    (2, True, True, []),             # Both steps are in the last sequence.
    (3, True, True, [0]),
])
def test_sequence_starts(n_steps, ended, continued, expected):
    assert sequence_replay.sequence_starts(
        n_steps, length=4, overlap=2, ended=ended,
        continued=continued) == expected


def test_an_episode_is_cut_into_overlapping_padded_sequences():
    accumulator = sequence_replay.SequenceAccumulator(
        length=4, overlap=2, n_step=2, discount=0.5)
    sequences = accumulator.add(7, _episode(7))
    np.testing.assert_array_equal(sequences['observation'][:, 0, 0],
                                  [0, 2, 4])
    # Sequence 2 holds steps 4, 5, 6 and the state after step 6 (7).
    np.testing.assert_array_equal(sequences['observation'][2, :, 0],
                                  [4, 5, 6, 7, 0])
    np.testing.assert_array_equal(sequences['mask'],
                                  [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]])
    np.testing.assert_array_equal(sequences['action'][1], [0, 1, 0, 1])
    np.testing.assert_array_equal(sequences['initial_state']['h'][:, 0],
                                  [0, 2, 4])
    # Only the first starts from the zero state of an episode's start.
    np.testing.assert_array_equal(sequences['starts_episode'], [1, 0, 0])
    # 2-step targets within the sequence: rewards t + 1, windows cut at
    # the sequence's end and bootstrapped from the last state it holds.
    np.testing.assert_allclose(sequences['return'][0],
                               [1 + 0.5 * 2, 2 + 0.5 * 3, 3 + 0.5 * 4, 4])
    np.testing.assert_array_equal(sequences['bootstrap_index'][0],
                                  [2, 3, 4, 4])
    np.testing.assert_allclose(sequences['discount'][0],
                               [0.25, 0.25, 0.25, 0.5])
    # The last sequence reaches the terminal state: no bootstrap there.
    np.testing.assert_allclose(sequences['return'][2], [5 + 3, 6 + 3.5, 7, 0])
    np.testing.assert_allclose(sequences['discount'][2], [0.25, 0, 0, 0])
    np.testing.assert_array_equal(sequences['bootstrap_index'][2],
                                  [2, 3, 3, 3])
    assert accumulator.n_steps_cut == 7
    assert accumulator.n_pending_steps == 0


def test_a_truncated_episode_is_bootstrapped():
    accumulator = sequence_replay.SequenceAccumulator(4, 2, 2, 0.5)
    sequences = accumulator.add(7, _episode(7, terminated=False))
    np.testing.assert_allclose(sequences['discount'][2], [0.25, 0.25, 0.5, 0])


@pytest.mark.parametrize('sizes', [(7,), (1, 2, 4), (3, 3, 1), (5, 2)])
def test_stretches_give_the_sequences_of_the_whole_episode(sizes):
    whole = sequence_replay.SequenceAccumulator(4, 2, 3, 0.9).add(
        7, _episode(7))
    accumulator = sequence_replay.SequenceAccumulator(4, 2, 3, 0.9)
    cut = [accumulator.add(7, piece) for piece in _pieces(_episode(7), sizes)]
    joined = data.nested_concatenate([batch for batch in cut
                                      if batch is not None])
    for mine, theirs in zip(data.nested_leaves(joined),
                            data.nested_leaves(whole)):
        np.testing.assert_array_equal(mine, theirs)
    assert accumulator.n_steps_cut == 7


def test_flush_cuts_waiting_episodes_as_truncated():
    accumulator = sequence_replay.SequenceAccumulator(4, 2, 1, 0.9)
    assert accumulator.add(7, _pieces(_episode(7), (5, 2))[0])['mask'].shape \
        == (1, 4)
    assert accumulator.n_pending_steps == 3
    flushed = accumulator.flush()
    # Steps 2..4 (2, 3 were in the first sequence, 4 is new), bootstrapped.
    np.testing.assert_array_equal(flushed['observation'][0, :, 0],
                                  [2, 3, 4, 5, 0])
    np.testing.assert_allclose(flushed['discount'][0], [0.9, 0.9, 0.9, 0])
    assert accumulator.n_steps_cut == 5


def _trainer(**kwargs):
    settings = {'sequence_length': 4, 'sequence_overlap': 2, 'burn_in': 1,
                'n_step': 2, 'batch_size': 5, 'min_replay_size': 3,
                'replay_buffer_capacity': 50, 'seed': 0}
    settings.update(kwargs)
    return trainers.RecurrentQLearningTrainer(_SIGNATURE, **settings)


def test_trainer_checkpoint_round_trip():
    trainer = _trainer()
    trainer.add_episode(data.Episode(_episode(7), return_=28.0))
    first, second = _pieces(_episode(9, first_id=100), (5, 4))
    trainer.add_transitions(first)
    assert len(trainer.replay_buffer) == 3 + 1
    restored = _trainer(seed=1)
    restored.load_state_dict(trainer.state_dict())
    # The waiting steps 2..4 of the unfinished episode were cut as truncated.
    assert len(restored.replay_buffer) == 5
    assert restored.state_dict()['sequences']['n_steps_cut'] == 7 + 5
    trainer.add_transitions(second)
    assert len(trainer.replay_buffer) == 4 + 3
    # Same samples from the same generator state (the seed is restored).
    state = trainer.state_dict()
    again = _trainer(seed=2)
    again.load_state_dict(state)
    mine = trainer.sample_batch(None)
    theirs = again.sample_batch(None)
    for a, b in zip(data.nested_leaves(mine), data.nested_leaves(theirs)):
        np.testing.assert_array_equal(a, b)
    assert mine['burn_in'] == 1 and mine['weight'].shape == (5,)


def test_trainer_waits_for_min_replay_size_in_env_steps():
    trainer = _trainer(min_replay_size=8, updates_per_step=0.0)
    trainer.add_episode(data.Episode(_episode(7), return_=28.0))
    assert not trainer.train_epoch(network=None)
    trainer.add_episode(data.Episode(_episode(2, first_id=50), return_=3.0))
    assert trainer.train_epoch(network=None) == {'n_updates': 0.0}


@pytest.mark.parametrize('kwargs, match', [
    ({'burn_in': 4}, 'burn_in = 4 must be smaller'),
    ({'sequence_overlap': 4}, 'sequence_overlap = 4 must be smaller'),
])
def test_trainer_refuses_bad_lengths(kwargs, match):
    with pytest.raises(errors.ConfigError, match=match):
        _trainer(**kwargs)


def test_trainer_refuses_steps_without_the_agents_state():
    trainer = _trainer()
    episode = _episode(5)
    episode = episode._replace(agent_info={
        'episode_id': episode.agent_info['episode_id']})
    with pytest.raises(ValueError, match='RecurrentQAgent'):
        trainer.add_transitions(episode)
