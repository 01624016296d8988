"""Tests of RayBatchStepper on a real local Ray instance (2 CPUs)."""

import functools
import os
import signal
import subprocess
import sys
import time

import gin
import numpy as np
import pytest

import ray_test_helpers
from process_helpers import pid_alive as _is_running
from alpacka import agents
from alpacka import data
from alpacka import envs
from alpacka import networks
from alpacka.batch_steppers import local
from alpacka.batch_steppers import ray as ray_stepper

_dummy_network_fn = functools.partial(networks.DummyNetwork,
                                      network_signature=None)


def _wait_until_dead(pids, timeout=10.0):
    """Waits for the processes to end; returns those still running."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if _is_running(pid)]
    return alive


@pytest.fixture(scope='module', name='probe_stepper')
def fixture_probe_stepper(ray_cluster):
    """3 ProbeAgents over 2 workers, started with a Gin binding to observe."""
    del ray_cluster
    gin.clear_config()
    gin.parse_config(['import ray_test_helpers',
                      'ProbeAgent.tag = @probe_tag()',
                      'probe_tag.value = 7'])
    stepper = ray_stepper.RayBatchStepper(
        env_class=envs.CartPole,
        agent_class=ray_test_helpers.ProbeAgent,
        network_fn=functools.partial(ray_test_helpers.ConstantNetwork,
                                     network_signature=None),
        n_envs=3, n_workers=2)
    gin.clear_config()
    yield stepper
    stepper.close()


def test_importing_alpacka_does_not_import_ray():
    code = ('import sys, alpacka, alpacka.batch_steppers.ray; '
            'assert "ray" not in sys.modules, "ray was imported"')
    subprocess.run([sys.executable, '-c', code], check=True)


def test_episodes_come_back_in_env_order_from_two_workers(probe_stepper):
    episodes = probe_stepper.run_episode_batch(
        np.float32(0.5),
        batched_solve_kwargs={'time_limit': [1, 2, 3], 'epoch': [10, 11, 12]})

    assert probe_stepper.n_workers == 2
    assert [len(episode) for episode in episodes] == [1, 2, 3]
    for epoch, episode in zip([10, 11, 12], episodes):
        np.testing.assert_array_equal(
            episode.transition_batch.agent_info['epoch'], epoch)
        assert episode.truncated
    pids = [int(episode.transition_batch.agent_info['pid'][0])
            for episode in episodes]
    assert pids[0] == pids[1] != pids[2]
    assert pids[::2] == probe_stepper.worker_pids()
    assert os.getpid() not in pids
    # Episodes are writable, like LocalBatchStepper's.
    episodes[0].transition_batch.reward[0] = 5.0


def test_batched_kwargs_of_wrong_length_are_rejected(probe_stepper):
    with pytest.raises(ValueError, match='time_limit'):
        probe_stepper.run_episode_batch(
            None, batched_solve_kwargs={'time_limit': [1, 2]})


def test_gin_config_reaches_workers(probe_stepper):
    episodes = probe_stepper.run_episode_batch(np.float32(0.0), time_limit=2)

    for episode in episodes:
        np.testing.assert_array_equal(
            episode.transition_batch.agent_info['tag'], 7)


def test_params_reach_workers_and_their_changes_are_seen(probe_stepper):
    for value in (1.5, -2.0):
        episodes = probe_stepper.run_episode_batch(np.float32(value),
                                                   time_limit=2)
        predictions = np.concatenate(
            [episode.transition_batch.agent_info['prediction']
             for episode in episodes])
        np.testing.assert_array_equal(predictions, value)


def test_agent_exception_surfaces_with_its_type_and_message(probe_stepper):
    with pytest.raises(ValueError,
                       match=ray_test_helpers.FAILURE_MESSAGE) as error_info:
        probe_stepper.run_episode_batch(
            None, batched_solve_kwargs={
                'epoch': [0, 0, ray_test_helpers.FAIL_EPOCH]})
    assert 'ValueError' in str(error_info.value)

    # The worker survives its agent's exception.
    episodes = probe_stepper.run_episode_batch(np.float32(1.0), time_limit=1)
    assert len(episodes) == 3


def test_seeded_runs_are_identical_and_close_ends_the_workers(ray_cluster):
    del ray_cluster

    def run_two_batches():
        stepper = ray_stepper.RayBatchStepper(
            envs.CartPole, agents.RandomAgent, _dummy_network_fn, n_envs=3,
            seed=42)
        assert stepper.n_workers == 2  # One per CPU.
        pids = stepper.worker_pids()
        try:
            return [stepper.run_episode_batch(None, time_limit=30)
                    for _ in range(2)]
        finally:
            stepper.close()
            stepper.close()  # Harmless.
            assert not _wait_until_dead(pids)
            with pytest.raises(RuntimeError, match='closed'):
                stepper.run_episode_batch(None)

    first, second = run_two_batches(), run_two_batches()

    for leaf_1, leaf_2 in zip(data.nested_leaves(first),
                              data.nested_leaves(second)):
        np.testing.assert_array_equal(leaf_1, leaf_2)
    actions = [tuple(episode.transition_batch.action) for episode in first[0]]
    assert len(set(actions)) == 3  # Each env has a seed of its own.

    # The same seed gives the same episodes as the local stepper.
    local_stepper = local.LocalBatchStepper(
        envs.CartPole, agents.RandomAgent, _dummy_network_fn, n_envs=3,
        seed=42)
    local_batches = [local_stepper.run_episode_batch(None, time_limit=30)
                     for _ in range(2)]
    for leaf_1, leaf_2 in zip(data.nested_leaves(first),
                              data.nested_leaves(local_batches)):
        np.testing.assert_array_equal(leaf_1, leaf_2)


def test_killed_worker_is_replaced_and_a_second_death_raises(ray_cluster,
                                                             tmp_path):
    del ray_cluster
    marker = tmp_path / 'replacements_die'
    stepper = ray_stepper.RayBatchStepper(
        functools.partial(ray_test_helpers.cartpole_unless_marked,
                          str(marker)),
        agents.RandomAgent, _dummy_network_fn, n_envs=3, n_workers=2)
    try:
        stepper.run_episode_batch(None, time_limit=5)
        old_pids = stepper.worker_pids()
        os.kill(old_pids[0], signal.SIGKILL)
        assert not _wait_until_dead(old_pids[:1])

        episodes = stepper.run_episode_batch(None, time_limit=5)

        assert [len(episode) for episode in episodes] == [5, 5, 5]
        new_pids = stepper.worker_pids()
        assert new_pids[0] != old_pids[0]
        assert new_pids[1] == old_pids[1]

        marker.touch()
        os.kill(new_pids[0], signal.SIGKILL)
        with pytest.raises(RuntimeError, match='so did its replacement'):
            stepper.run_episode_batch(None, time_limit=5)
    finally:
        stepper.close()


def test_ray_started_by_steppers_is_shut_down_after_the_last_closes(
        monkeypatch):
    import ray  # pylint: disable=import-outside-toplevel
    shutdowns = []
    monkeypatch.setattr(ray_stepper, 'init_ray', lambda: True)
    monkeypatch.setattr(ray, 'shutdown', lambda: shutdowns.append(1))
    ownership = ray_stepper.RayOwnership
    monkeypatch.setattr(ownership, 'n_open_steppers', 0)
    monkeypatch.setattr(ownership, 'started_by_stepper', False)

    ownership.acquire()  # Starts Ray.
    ownership.acquire()  # Nested stepper: reuses it.
    ownership.release()
    assert not shutdowns
    ownership.release()
    assert len(shutdowns) == 1
    assert not ownership.started_by_stepper
