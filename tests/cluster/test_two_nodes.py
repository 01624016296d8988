"""Alpacka's CLI on an existing Ray cluster of two nodes (RAY_ADDRESS set):
RayBatchStepper's workers, and asynchronous training's collectors, on both.

The cluster is a head and a worker node on this machine, 1 CPU each, made by
the steps of scripts/slurm/ray_cluster.sh that alpacka_ray.sbatch runs on a
SLURM allocation (here without srun: every node is local). Each run is a
`python3 -m alpacka.runner` subprocess, so the test session's own Ray
instance (conftest's ray_cluster) never sees this cluster; the fixture checks
that no process of the cluster outlives it.
"""

import os
import subprocess
import sys

import pytest

import cluster_helpers

from alpacka import metric_logging

# Bound after sac_pendulum_async.gin, shrinking it (as tests/runner's async
# tests do): two collectors of 2 envs, chunks of 2 x 10 steps, 100-step
# epochs; each collector reserves 1 CPU, i.e. a whole node here.
_ASYNC_CONFIG = """
import cluster_helpers
Runner.env_class = @cluster_helpers.NodeRecordingEnv
Runner.n_envs = 2
Runner.episode_time_limit = 30
Runner.env_steps_per_epoch = 100
Runner.n_epochs = 2
Runner.callback_classes = []
AsyncTraining.n_collectors = 2
AsyncTraining.collector_cpus = 1
AsyncTraining.steps_per_chunk = 10
AsyncTraining.broadcast_every = 5
AsyncTraining.learner_cpus = None
SoftActorCriticAgent.n_random_steps = 20
SoftActorCriticNetwork.hidden_sizes = (16,)
SoftActorCriticTrainer.batch_size = 16
SoftActorCriticTrainer.min_replay_size = 40
SoftActorCriticTrainer.updates_per_step = 1.0
NodeRecordingEnv.env_class = @alpacka.envs.Pendulum
NodeRecordingEnv.record_dir = '{record_dir}'
"""


@pytest.fixture(name='cluster_env', scope='module')
def fixture_cluster_env():
    """The environment of a driver of the two-node cluster."""
    with cluster_helpers.two_node_cluster() as env:
        yield env


def _run_cli(env, config_paths, output_dir):
    env = dict(env, PYTHONPATH=os.pathsep.join(
        [env['PYTHONPATH'], cluster_helpers.HELPERS_DIR,
         cluster_helpers.REPO_ROOT]))
    return subprocess.run(
        [sys.executable, '-m', 'alpacka.runner',
         *[f'--config_file={path}' for path in config_paths],
         f'--output_dir={output_dir}'],
        cwd=cluster_helpers.REPO_ROOT, env=env, capture_output=True,
        text=True, timeout=240, check=False)


def _series(output_dir, name):
    """{step: value} of one metric the run logged."""
    return metric_logging.read_series(str(output_dir), strict=True).get(
        name, {})


def _run_recording_nodes(cluster_env, tmp_path, config_template,
                         base_config=None):
    """Runs the CLI on the cluster with base_config (if any), then
    config_template; returns the output dir and the nodes the envs ran
    on."""
    record_dir = tmp_path / 'nodes'
    record_dir.mkdir()
    config = tmp_path / 'run.gin'
    config.write_text(config_template.format(record_dir=record_dir))
    output_dir = tmp_path / 'out'
    result = _run_cli(cluster_env, [path for path in (base_config, config)
                                    if path], output_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir, cluster_helpers.recorded_nodes(record_dir)


def test_ray_stepper_workers_run_on_both_nodes(cluster_env, tmp_path):
    output_dir, nodes = _run_recording_nodes(
        cluster_env, tmp_path, cluster_helpers.RAY_STEPPER_CONFIG)
    # A worker on each node (each reserves a node's one CPU), each playing
    # its episodes there.
    assert len(nodes) == 2
    assert _series(output_dir, 'episode/count') == {0: 2, 1: 2}


def test_async_collectors_run_on_both_nodes(cluster_env, tmp_path):
    output_dir, nodes = _run_recording_nodes(
        cluster_env, tmp_path, _ASYNC_CONFIG, os.path.join(
            cluster_helpers.REPO_ROOT, 'alpacka', 'configs',
            'sac_pendulum_async.gin'))
    assert len(nodes) == 2  # One collector on each node.
    assert _series(output_dir, 'counters/env_steps') == {0: 100, 1: 200}
    assert _series(output_dir, 'async/replay_size') == {0: 100, 1: 200}
    assert _series(output_dir, 'async/collector_restarts') == {0: 0, 1: 0}
    for name in ('async/env_steps_per_s', 'async/updates_per_s',
                 'async/learner_busy_fraction', 'async/policy_lag_mean',
                 'train/n_updates'):
        assert set(_series(output_dir, name)) == {0, 1}, name
