"""RayBatchStepper.worker_nodes on the test session's one-node Ray instance."""

from alpacka import agents
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
