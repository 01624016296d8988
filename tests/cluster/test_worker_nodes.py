"""RayBatchStepper's placement on the test session's one-node Ray instance:
worker_nodes, and worker_cpus that the cluster cannot meet."""

import pytest

from alpacka import agents
from alpacka import errors
from alpacka import envs
from alpacka.batch_steppers import ray as ray_stepper


def test_worker_nodes_are_the_nodes_workers_run_on(ray_cluster):
    ray = ray_cluster
    stepper = ray_stepper.RayBatchStepper(
        envs.CartPole, agents.RandomAgent, None, n_envs=3, n_workers=2)
    try:
        nodes = stepper.worker_nodes()
        assert nodes == [ray.get_runtime_context().get_node_id()] * 2
        alive = {node['NodeID'] for node in ray.nodes() if node['Alive']}
        assert set(nodes) <= alive
    finally:
        stepper.close()


def test_workers_reserving_more_cpus_than_the_cluster_has_are_refused(
        ray_cluster):
    # Two workers of 3/4 of the cluster's CPUs each would never both start:
    # the stepper says so before starting any.
    cpus = ray_cluster.cluster_resources()['CPU']
    with pytest.raises(errors.ConfigError, match='RayBatchStepper.worker_cpus'):
        ray_stepper.RayBatchStepper(
            envs.CartPole, agents.RandomAgent, None, n_envs=2, n_workers=2,
            worker_cpus=cpus * 0.75)
