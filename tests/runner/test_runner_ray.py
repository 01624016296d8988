"""The Runner with Ray: a Ray stepper for the episodes, and (as configs of
the original project do) Ray steppers nested inside ShootingAgents."""

import gin
import numpy as np

from alpacka import runner as runner_lib

SHOOTING = """
Runner.env_class = @alpacka.envs.CartPole
Runner.agent_class = @alpacka.agents.ShootingAgent
Runner.n_envs = 2
Runner.episode_time_limit = 8
Runner.n_epochs = 1
Runner.seed = 1
ShootingAgent.agent_class = @alpacka.agents.RandomAgent
ShootingAgent.aggregate_fn = @np.mean
ShootingAgent.n_rollouts = 6
ShootingAgent.rollout_time_limit = 5
ShootingAgent.n_envs = 2
RandomAgent.parameter_schedules = {}
"""


def _run(output_dir, *bindings):
    gin.clear_config()
    gin.parse_config([SHOOTING, *bindings])
    runner = runner_lib.Runner(str(output_dir))
    runner.run()
    return _metrics(output_dir)


def _metrics(output_dir):
    from cli_helpers import read_metrics  # pylint: disable=import-outside-toplevel
    return {record['name']: record['value']
            for record in read_metrics(output_dir)
            if not record['name'].startswith('time/')}


def test_ray_stepper_runs_the_same_episodes_as_the_local_one(ray_cluster,
                                                             tmp_path):
    del ray_cluster
    local = _run(tmp_path / 'local')
    on_ray = _run(tmp_path / 'ray', 'Runner.batch_stepper_class = '
                  '@alpacka.batch_steppers.RayBatchStepper',
                  'RayBatchStepper.n_workers = 2')
    assert on_ray == local
    assert on_ray['agent/model_steps_per_step'] >= 6  # Gin reached workers.


def test_ray_stepper_nested_in_shooting_agent(ray_cluster, tmp_path):
    del ray_cluster
    metrics = _run(tmp_path, 'ShootingAgent.batch_stepper_class = '
                   '@alpacka.batch_steppers.RayBatchStepper',
                   'RayBatchStepper.n_workers = 2')
    assert metrics['episode/count'] == 2
    assert metrics['episode/return_mean'] == 8  # Shooting keeps it up.
    assert np.isfinite(metrics['agent/value_mean'])
    config = (tmp_path / 'config.gin').read_text()
    # RandomAgent ran only inside Ray workers: its binding is still recorded.
    assert 'RandomAgent.parameter_schedules = {}' in config
    assert 'RayBatchStepper.n_workers = 2' in config
