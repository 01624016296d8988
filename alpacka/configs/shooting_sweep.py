"""A sweep of random-shooting MPC on CartPole: 2 seeds x 3 rollout budgets.

An mrunner specification, written as for the original project. Run all six
experiments (about 20 s on 2 cores):

    python3 -m alpacka.sweep alpacka/configs/shooting_sweep.py \\
        --output_dir=./out/shooting_sweep

or only the first one, as mrunner's jobs do:

    python3 -m alpacka.runner --mrunner --output_dir=./out/first \\
        --config_file=alpacka/configs/shooting_random_cartpole.gin \\
        --config=alpacka/configs/shooting_sweep.py

Without mrunner installed, Alpacka serves create_experiments_helper itself.
"""

# mrunner is optional: without it, Alpacka serves this helper itself.
from mrunner.helpers.specification_helper import create_experiments_helper  # pylint: disable=import-error

base_config = {
    'Runner.n_epochs': 3,
    'Runner.n_envs': 8,
    'Runner.episode_time_limit': 100,
    'ShootingAgent.n_envs': 2,
    'ShootingAgent.rollout_time_limit': 10,
}

params_grid = {
    'Runner.seed': [1, 2],
    'ShootingAgent.n_rollouts': [2, 8, 32],  # Multiples of ShootingAgent.n_envs.
}

experiments_list = create_experiments_helper(
    experiment_name='shooting-sweep',
    project_name=None,
    base_config=base_config,
    params_grid=params_grid,
    script='python3 -m alpacka.runner --mrunner --output_dir=./out '
           '--config_file=alpacka/configs/shooting_random_cartpole.gin',
    exclude=['.git', '.venv', 'out'],
    python_path='',
    tags=[globals()['script'][:-3]],
    with_neptune=False,
)
