"""Alpacka's CLI on an existing Ray cluster of two nodes (RAY_ADDRESS set).

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

_SYNC_CONFIG = """
import cluster_helpers
Runner.env_class = @alpacka.envs.CartPole
Runner.agent_class = @cluster_helpers.NodeRecordingAgent
Runner.batch_stepper_class = @alpacka.batch_steppers.RayBatchStepper
Runner.n_envs = 2
Runner.episode_time_limit = 10
Runner.n_epochs = 2
RayBatchStepper.n_workers = 2
NodeRecordingAgent.record_dir = '{record_dir}'
"""


@pytest.fixture(name='cluster_env', scope='module')
def fixture_cluster_env():
    """The environment of a driver of the two-node cluster."""
    with cluster_helpers.two_node_cluster() as env:
        yield env


def _run_cli(env, config_path, output_dir, *bindings):
    env = dict(env, PYTHONPATH=os.pathsep.join(
        [cluster_helpers.HELPERS_DIR, cluster_helpers.REPO_ROOT,
         env.get('PYTHONPATH', '')]))
    return subprocess.run(
        [sys.executable, '-m', 'alpacka.runner',
         f'--config_file={config_path}', f'--output_dir={output_dir}',
         *[f'--config={binding}' for binding in bindings]],
        cwd=cluster_helpers.REPO_ROOT, env=env, capture_output=True,
        text=True, timeout=240, check=False)


def _series(output_dir, name):
    """{step: value} of one metric the run logged."""
    return metric_logging.read_series(str(output_dir), strict=True).get(
        name, {})


def test_ray_stepper_workers_run_on_both_nodes(cluster_env, tmp_path):
    record_dir = tmp_path / 'nodes'
    record_dir.mkdir()
    config = tmp_path / 'sync.gin'
    config.write_text(_SYNC_CONFIG.format(record_dir=record_dir))
    output_dir = tmp_path / 'out'
    result = _run_cli(cluster_env, config, output_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    # SPREAD put the two workers on different nodes, and each played its
    # episodes there.
    assert len(cluster_helpers.recorded_nodes(record_dir)) == 2
    assert _series(output_dir, 'episode/count') == {0: 2, 1: 2}
