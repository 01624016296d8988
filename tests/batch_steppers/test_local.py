"""Tests for LocalBatchStepper: batching, grouping, seeding, kwargs."""

import functools

import numpy as np

from alpacka import agents
from alpacka import batch_steppers
from alpacka import data
from alpacka import envs
from alpacka import networks


class _CountingNetwork(networks.Network):
    """Predicts the sum of each input row, times a scale set through params."""

    calls = []

    def __init__(self, network_signature=None):
        super().__init__(network_signature)
        self._scale = 1.0

    def predict(self, inputs):
        _CountingNetwork.calls.append(data.nested_map(np.shape, inputs))
        leaves = data.nested_leaves(inputs)
        return sum(leaf.reshape(len(leaf), -1).sum(axis=1) for leaf in leaves
                   ) * self._scale

    @property
    def params(self):
        return self._scale

    @params.setter
    def params(self, new_params):
        self._scale = new_params


class _AskingAgent(agents.OnlineAgent):
    """Asks for one prediction per step; request shape set per instance."""

    def __init__(self, request_kind='flat'):
        super().__init__()
        self._request_kind = request_kind

    def act(self, observation):
        if self._request_kind == 'flat':
            request = observation[np.newaxis]
        elif self._request_kind == 'pair':
            request = (observation[np.newaxis, :2], observation[np.newaxis])
        else:
            request = np.zeros((3, 2), np.float32)  # Batch of 3 at once.
        prediction = yield request
        return 0, {'prediction': np.float32(prediction[0])}


def _stepper(agent_fn, n_envs, seed=None):
    _CountingNetwork.calls = []
    return batch_steppers.LocalBatchStepper(
        envs.CartPole, agent_fn, _CountingNetwork, n_envs=n_envs, seed=seed)


def test_one_predict_call_per_round_for_all_agents():
    stepper = _stepper(_AskingAgent, n_envs=8, seed=0)
    episodes = stepper.run_episode_batch(2.0, time_limit=5)
    assert len(episodes) == 8
    # 5 rounds, one network call each, for all 8 agents.
    assert len(_CountingNetwork.calls) == 5
    assert all(call == (8, 4) for call in _CountingNetwork.calls)
    for episode in episodes:
        batch = episode.transition_batch
        np.testing.assert_allclose(batch.agent_info['prediction'],
                                   2.0 * batch.observation.sum(axis=1),
                                   rtol=1e-5)


def test_requests_of_different_shapes_are_grouped_not_rejected():
    kinds = iter(['flat', 'pair', 'flat', 'triple', 'pair'])
    stepper = _stepper(lambda: _AskingAgent(next(kinds)), n_envs=5)
    episodes = stepper.run_episode_batch(1.0, time_limit=2)
    # Three kinds of request per round, two rounds.
    assert len(_CountingNetwork.calls) == 6
    shapes = sorted(map(str, _CountingNetwork.calls[:3]))
    assert shapes == sorted(map(str, [(2, 4), ((2, 2), (2, 4)), (3, 2)]))
    pair_batch = episodes[1].transition_batch
    np.testing.assert_allclose(
        pair_batch.agent_info['prediction'],
        pair_batch.observation[:, :2].sum(1) + pair_batch.observation.sum(1),
        rtol=1e-5)


def test_network_request_gets_network_fn_and_params():
    seen = []

    class NetworkAskingAgent(agents.OnlineAgent):
        """Asks for the network instead of a prediction."""

        def act(self, observation):
            network_fn, params = yield data.NetworkRequest()
            seen.append((network_fn, params))
            return 0, {}

    stepper = _stepper(NetworkAskingAgent, n_envs=2)
    stepper.run_episode_batch(7.0, time_limit=1)
    assert [params for _, params in seen] == [7.0, 7.0]
    assert isinstance(seen[0][0](), _CountingNetwork)
    assert not _CountingNetwork.calls  # No prediction was asked for.


def test_agents_that_never_ask_never_build_a_network():
    def unbuildable():
        raise AssertionError('the network should not be built')

    stepper = batch_steppers.LocalBatchStepper(
        envs.CartPole, agents.RandomAgent, unbuildable, n_envs=3)
    assert len(stepper.run_episode_batch(None, time_limit=4)) == 3


def test_batched_solve_kwargs_reach_their_env():
    stepper = _stepper(agents.RandomAgent, n_envs=3, seed=0)
    episodes = stepper.run_episode_batch(
        None, batched_solve_kwargs={'time_limit': [1, 2, 3]})
    assert [len(episode) for episode in episodes] == [1, 2, 3]


def test_seeded_steppers_reproduce_episodes():
    def run(seed):
        stepper = batch_steppers.LocalBatchStepper(
            envs.CartPole, agents.RandomAgent,
            functools.partial(networks.DummyNetwork, network_signature=None),
            n_envs=3, seed=seed)
        return [stepper.run_episode_batch(None, time_limit=30)
                for _ in range(2)]

    first, second, other = run(1), run(1), run(2)
    for batch_a, batch_b in zip(first, second):
        for episode_a, episode_b in zip(batch_a, batch_b):
            np.testing.assert_array_equal(
                episode_a.transition_batch.observation,
                episode_b.transition_batch.observation)
            np.testing.assert_array_equal(episode_a.transition_batch.action,
                                          episode_b.transition_batch.action)
    assert not np.array_equal(first[0][0].transition_batch.action,
                              other[0][0].transition_batch.action)
