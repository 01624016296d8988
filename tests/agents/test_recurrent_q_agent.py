"""Tests for RecurrentQAgent through a real LocalBatchStepper: the state it
carries, the requests it batches and the states the sequence replay stores."""

import functools
import itertools

import gymnasium
import numpy as np
import pytest

from alpacka import agents
from alpacka import batch_steppers
from alpacka import errors
from alpacka import networks
from alpacka import trainers

_RECURRENT_SIZE = 5


class _FixedLengthEnv(gymnasium.Env):  # pylint: disable=abstract-method
    """Random observations (3,), two actions, episodes of a fixed length:
    3, 5 and 8 steps for the first three envs made, and so on."""

    _made = itertools.count()
    observation_space = gymnasium.spaces.Box(-10, 10, (3,), np.float32)
    action_space = gymnasium.spaces.Discrete(2)

    def __init__(self):
        self.length = (3, 5, 8)[next(self._made) % 3]
        self._t = 0

    def _observation(self):
        return self.np_random.normal(size=3).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._observation(), {}

    def step(self, action):
        self._t += 1
        return (self._observation(), float(action), self._t >= self.length,
                False, {})


def _signature(cell='lstm'):
    return agents.RecurrentQAgent(
        cell=cell, recurrent_size=_RECURRENT_SIZE).network_signature(
            _FixedLengthEnv.observation_space, _FixedLengthEnv.action_space)


def _stepper(cell='lstm'):
    _FixedLengthEnv._made = itertools.count()  # pylint: disable=protected-access
    network_fn = functools.partial(
        networks.RecurrentQNetwork, network_signature=_signature(cell),
        hidden_sizes=(8,), seed=0)
    return batch_steppers.LocalBatchStepper(
        env_class=_FixedLengthEnv,
        agent_class=functools.partial(
            agents.RecurrentQAgent, policy=agents.GreedyPolicy(), cell=cell,
            recurrent_size=_RECURRENT_SIZE),
        network_fn=network_fn, n_envs=3, seed=0), network_fn()


@pytest.fixture(name='collected', scope='module')
def _collected():
    """Two calls of 7 steps in each of 3 envs: (stepper, network, batches)."""
    stepper, network = _stepper()
    step_batches = [stepper.run_steps(network.params, 7, epoch=0,
                                      env_steps=call * 21)
                    for call in range(2)]
    yield stepper, network, step_batches
    stepper.close()


def test_one_predict_call_per_round_for_all_agents(collected):
    stepper, _, _ = collected
    assert stepper.n_predict_calls == 14


def test_state_starts_at_zeros_and_carries_the_networks_state(collected):
    _, network, step_batches = collected
    episodes = [episode for batch in step_batches for episode in batch.episodes]
    # Episodes of 3, 5 and 8 steps, some started after others ended.
    assert sorted({len(episode) for episode in episodes}) == [3, 5, 8]
    assert len(episodes) >= 6
    for episode in episodes:
        batch = episode.transition_batch
        state = batch.agent_info['state']
        assert set(state) == {'h', 'c'}
        assert state['h'].shape == (len(episode), _RECURRENT_SIZE)
        expected = network.initial_state(1)
        for t in range(len(episode)):
            for key in ('h', 'c'):
                np.testing.assert_allclose(state[key][t], expected[key][0],
                                           rtol=1e-5, atol=1e-6)
            expected = network.predict({'observation': batch.observation[t:t + 1],
                                        'state': expected})['state']
        assert np.abs(state['h'][1:]).max() > 1e-3  # Carried, not reset.


def test_replay_stores_the_state_acted_from_at_each_sequence_start(collected):
    _, network, step_batches = collected
    trainer = trainers.RecurrentQLearningTrainer(
        _signature(), sequence_length=3, sequence_overlap=1, burn_in=1,
        n_step=2, min_replay_size=1, replay_buffer_capacity=100)
    for batch in step_batches:
        for stretch in batch.transition_batches:
            trainer.add_transitions(stretch)
    stored = trainer.replay_buffer.gather(
        np.arange(len(trainer.replay_buffer)))
    observations = stored['observation']
    episodes = [episode for batch in step_batches for episode in batch.episodes]
    n_checked = 0
    for episode in episodes:
        info = episode.transition_batch.agent_info['state']
        # Starts every 3 - 1 steps, while a start holds a new step.
        for start in [s for s in range(0, len(episode), 2)
                      if s == 0 or s + 1 < len(episode)]:
            first = episode.transition_batch.observation[start]
            rows = np.flatnonzero(np.all(observations[:, 0] == first, axis=1))
            assert len(rows) == 1, (len(episode), start)
            for key in ('h', 'c'):
                np.testing.assert_array_equal(
                    stored['initial_state'][key][rows[0]], info[key][start])
            assert stored['starts_episode'][rows[0]] == float(start == 0)
            n_checked += 1
    assert n_checked >= 10
    metrics = trainer.train_epoch(network)
    assert metrics['n_updates'] > 0 and np.isfinite(metrics['loss'])


def test_gru_state_has_one_array():
    stepper, network = _stepper('gru')
    step_batch = stepper.run_steps(network.params, 4, epoch=0, env_steps=0)
    stepper.close()
    state = step_batch.episodes[0].transition_batch.agent_info['state']
    assert list(state) == ['h']
    np.testing.assert_array_equal(state['h'][0], 0)


def test_a_recurrent_network_refuses_a_feed_forward_agent_and_back():
    feed_forward = agents.QAgent().network_signature(
        _FixedLengthEnv.observation_space, _FixedLengthEnv.action_space)
    with pytest.raises(errors.NetworkSignatureError, match='RecurrentQAgent'):
        networks.RecurrentQNetwork(feed_forward)
    with pytest.raises(errors.ConfigError, match='RecurrentQAgent'):
        trainers.RecurrentQLearningTrainer(feed_forward)
    with pytest.raises(errors.ConfigError,
                       match='RecurrentQLearningTrainer'):
        trainers.QLearningTrainer(_signature())
    with pytest.raises(TypeError, match='discrete actions'):
        agents.RecurrentQAgent().network_signature(
            _FixedLengthEnv.observation_space,
            gymnasium.spaces.Box(-1, 1, (2,)))
