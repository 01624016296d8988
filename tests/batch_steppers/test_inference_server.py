"""Tests of the shared inference actor on a real local Ray instance (2 CPUs)."""

import functools
import os
import pickle
import signal

import cloudpickle
import gin
import numpy as np
import pytest

from alpacka import agents
from alpacka import data
from alpacka import envs
from alpacka import networks
from alpacka.batch_steppers import inference_server
from alpacka.batch_steppers import local
from alpacka.networks import sac as sac_network
from alpacka.utils import validation

_SIGNATURE = data.NetworkSignature(
    input=data.TensorSignature((3,)),
    output={'a': data.TensorSignature((2,)), 'b': data.TensorSignature(())})
_MLP_SEED = 7
# The local reference network; the server's gets its seed from a Gin binding.
_mlp_fn = functools.partial(networks.KerasNetwork, _SIGNATURE, seed=_MLP_SEED,
                            model_fn=functools.partial(
                                networks.model_builders.mlp,
                                hidden_sizes=(16,)))


def _client_class():
    """A Ray actor asking the server for predictions, as a collector does.

    Defined in a function so that Ray pickles it by value: Ray workers
    cannot import this test module.
    """

    class Client:
        """Holds a ServedNetwork made by network_fn."""

        def __init__(self, network_fn):
            self._network = network_fn()
            self._server = network_fn.args[0]

        def sequential(self, inputs_list):
            """ServedNetwork.predict on each input, one after the other."""
            return [self._network.predict(inputs) for inputs in inputs_list]

        def burst(self, inputs_list):
            """All the requests at once, then their answers."""
            import ray  # pylint: disable=import-outside-toplevel
            return ray.get([self._server.predict.remote(inputs)
                            for inputs in inputs_list])

    return Client


def _inputs(client, n_requests, rows):
    """Distinct inputs per client and request: [rows, 3] each."""
    return [np.full((rows, 3), 10 * client + request, np.float32) +
            np.arange(rows, dtype=np.float32)[:, np.newaxis]
            for request in range(n_requests)]


def _assert_close(predictions, expected):
    assert predictions.keys() == expected.keys()
    for key, value in predictions.items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-5, atol=1e-6)


@pytest.fixture(scope='module', name='mlp_server')
def fixture_mlp_server(ray_cluster):
    """An InferenceServer of _mlp_fn's network (no CPU reserved).

    Its seed is bound in the driver's Gin config only, so every test's
    comparison with _mlp_fn() also checks that the server got the config.
    Tests that change its params set them back.
    """
    del ray_cluster  # Up.
    gin.parse_config(f'alpacka.networks.KerasNetwork.seed = {_MLP_SEED}')
    server_network_fn = functools.partial(
        networks.KerasNetwork, _SIGNATURE,
        model_fn=_mlp_fn.keywords['model_fn'])
    server = inference_server.InferenceServer.start(server_network_fn,
                                                    num_cpus=0)
    gin.clear_config()
    yield server
    server.close()


def test_concurrent_clients_each_get_their_own_rows_batched(ray_cluster,
                                                            mlp_server):
    local_network = _mlp_fn()
    stats_before = mlp_server.stats()
    client_class = ray_cluster.remote(num_cpus=0)(_client_class())
    network_fn = inference_server.served_network_fn(mlp_server.handle)
    clients = [client_class.remote(network_fn) for _ in range(2)]
    # Client 0 asks for 1 row at a time, client 1 for 3.
    inputs = {(client, how): _inputs(client + 2 * (how == 'burst'), 20,
                                     rows=1 + 2 * client)
              for client in range(2) for how in ('sequential', 'burst')}
    pending = {(client, how): getattr(clients[client], how).remote(
        inputs[client, how]) for client, how in inputs}
    results = {key: ray_cluster.get(ref) for key, ref in pending.items()}

    for key, predictions in results.items():
        assert len(predictions) == len(inputs[key])
        for request, prediction in zip(inputs[key], predictions):
            _assert_close(prediction, local_network.predict(request))
    stats = mlp_server.stats()
    assert stats['n_requests'] - stats_before['n_requests'] == 80
    assert stats['n_rows'] - stats_before['n_rows'] == 2 * 20 * (1 + 3)
    # Requests that waited for a running predict were answered together.
    n_calls = stats['n_predict_calls'] - stats_before['n_predict_calls']
    assert n_calls < 80
    assert stats['n_rounds'] - stats_before['n_rounds'] <= n_calls
    for client in clients:
        ray_cluster.kill(client)


def test_set_params_changes_the_answers(ray_cluster, mlp_server):
    inputs = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    served = inference_server.served_network_fn(mlp_server.handle)()
    other = _mlp_fn()
    other.params = [np.random.default_rng(1).normal(size=np.shape(array))
                    .astype(np.float32) for array in other.params]
    before = served.predict(inputs)
    _assert_close(before, _mlp_fn().predict(inputs))

    # An ObjectRef argument arrives resolved: one put serves every server.
    mlp_server.set_params(ray_cluster.put(other.params), wait=True)
    after = served.predict(inputs)
    _assert_close(after, other.predict(inputs))
    assert not np.allclose(after['a'], before['a'])
    assert mlp_server.stats()['n_params_updates'] == 1
    mlp_server.set_params(_mlp_fn().params, wait=True)


def test_a_bad_request_fails_alone(ray_cluster, mlp_server):
    good = [np.ones((2, 3), np.float32)] * 5
    bad = np.ones((2, 4), np.float32)  # Not the signature's shape.
    refs = [mlp_server.handle.predict.remote(inputs) for inputs in good[:3]]
    bad_ref = mlp_server.handle.predict.remote(bad)
    refs += [mlp_server.handle.predict.remote(inputs) for inputs in good[3:]]
    expected = _mlp_fn().predict(good[0])
    for prediction in ray_cluster.get(refs):
        _assert_close(prediction, expected)
    with pytest.raises(ValueError):
        ray_cluster.get(bad_ref)


def test_served_network_stands_in_for_a_network(mlp_server):
    network_fn = inference_server.served_network_fn(mlp_server.handle)
    # What a collector's factories go through.
    network_fn = cloudpickle.loads(cloudpickle.dumps(network_fn))
    network_fn = pickle.loads(pickle.dumps(network_fn))
    network = network_fn()
    inputs = np.zeros((2, 3), np.float32)
    expected = network.predict(inputs)
    network.params = [np.zeros(1)]  # The broadcast updates the server, not this.
    _assert_close(network.predict(inputs), expected)
    assert network.clone() is network
    for leaf in data.nested_leaves(network.predict(inputs)):
        assert leaf.flags.writeable
    with pytest.raises(TypeError, match='holds no parameters'):
        _ = network.params


def test_resources_must_not_be_negative():
    with pytest.raises(validation.ArgumentError, match='num_gpus'):
        inference_server.InferenceServer.start(_mlp_fn, num_gpus=-1)


def test_server_gets_the_drivers_gin_config(ray_cluster, mlp_server):
    inputs = np.ones((2, 3), np.float32)
    prediction = ray_cluster.get(mlp_server.handle.predict.remote(inputs))
    _assert_close(prediction, _mlp_fn().predict(inputs))
    other_seed = functools.partial(_mlp_fn, seed=_MLP_SEED + 1)
    assert not np.allclose(prediction['a'], other_seed().predict(inputs)['a'])


def _collect(network_fn, params):
    """Two chunks of 15 rounds of 2 SAC agents on Pendulum, seeded."""
    stepper = local.LocalBatchStepper(
        env_class=envs.Pendulum, agent_class=agents.SoftActorCriticAgent,
        network_fn=network_fn, n_envs=2, seed=3)
    batches = [stepper.run_steps(params, n_steps=15) for _ in range(2)]
    stepper.close()
    return batches


def test_collection_through_the_server_equals_local_collection(ray_cluster):
    del ray_cluster  # Up.
    env = envs.Pendulum()
    signature = sac_network.network_signature(env.observation_space,
                                              env.action_space)
    network_fn = functools.partial(
        networks.SoftActorCriticNetwork, signature,
        action_space=env.action_space, hidden_sizes=(16, 16), seed=5)
    trained = network_fn()  # Params other than the initial ones.
    trained.params = [array + 0.1 for array in trained.params]
    server = inference_server.InferenceServer.start(
        network_fn, params=trained.params, num_cpus=0)

    local_batches = _collect(network_fn, trained.params)
    served_batches = _collect(
        inference_server.served_network_fn(server.handle), trained.params)
    stats = server.stats()
    server.close()

    for local_batch, served_batch in zip(local_batches, served_batches):
        assert served_batch.n_steps == local_batch.n_steps == 30
        assert (len(served_batch.transition_batches) ==
                len(local_batch.transition_batches) == 2)
        for ours, theirs in zip(served_batch.transition_batches,
                                local_batch.transition_batches):
            for leaf, expected in zip(data.nested_leaves(ours),
                                      data.nested_leaves(theirs)):
                np.testing.assert_array_equal(leaf, expected)
    # One request per round of the 2 envs (a batch of 2), 30 rounds.
    assert stats['n_requests'] == stats['n_predict_calls'] == 30
    assert stats['n_rows'] == 60


def test_a_killed_server_is_restarted_and_answers(ray_cluster):
    del ray_cluster  # Up.
    # DummyNetwork(None) predicts its inputs, and imports no TensorFlow.
    server = inference_server.InferenceServer.start(
        functools.partial(networks.DummyNetwork, network_signature=None),
        num_cpus=0)
    network = inference_server.served_network_fn(server.handle)()
    inputs = np.arange(6, dtype=np.float32).reshape(2, 3)
    pid = server.pid()
    os.kill(pid, signal.SIGKILL)
    # Ray restarts the actor and retries the request on it.
    np.testing.assert_array_equal(network.predict(inputs), inputs)
    assert server.pid() != pid
    server.close()
    server.close()  # Harmless.
