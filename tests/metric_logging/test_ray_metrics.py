"""Metrics logged inside Ray workers reach the driver's loggers."""

import functools
import os

import logging_helpers
from alpacka import envs
from alpacka import metric_logging
from alpacka import networks
from alpacka.batch_steppers import ray as ray_stepper


class ListLogger:
    """Records every call."""

    def __init__(self):
        self.scalars = []
        self.properties = []

    def log_scalar(self, name, step, value):
        """Records (name, step, value)."""
        self.scalars.append((name, step, value))

    def log_property(self, name, value):
        """Records (name, value)."""
        self.properties.append((name, value))


def test_worker_metrics_are_replayed_into_the_driver_loggers(ray_cluster):
    del ray_cluster
    logger = ListLogger()
    metric_logging.register_logger(logger)
    stepper = ray_stepper.RayBatchStepper(
        env_class=envs.CartPole, agent_class=logging_helpers.LoggingAgent,
        network_fn=functools.partial(networks.DummyNetwork,
                                     network_signature=None),
        n_envs=3, n_workers=2)
    try:
        worker_pids = set(stepper.worker_pids())
        stepper.run_episode_batch(None, epoch=4, time_limit=3)
        first = list(logger.scalars)
        stepper.run_episode_batch(None, epoch=5, time_limit=3)
    finally:
        stepper.close()
        metric_logging.unregister_logger(logger)

    # One scalar per agent and batch, logged in the workers, at the
    # agent's step; each worker's buffer is emptied by the batch.
    assert [(name, step) for name, step, _ in first] == [('worker/pid', 4)] * 3
    assert [(name, step) for name, step, _ in logger.scalars[3:]] == [
        ('worker/pid', 5)] * 3
    logged_pids = {int(value) for _, _, value in logger.scalars}
    assert logged_pids == worker_pids
    assert os.getpid() not in logged_pids
    assert len(logger.properties) == 6
    assert all(name == 'worker/note' and value.startswith('solved in ')
               for name, value in logger.properties)
