"""The Sokoban MCTS configs: the original project's recipe runs unchanged."""

import json
import os
import subprocess
import sys

import gin

from alpacka.runner import cli
from alpacka.utils import run_directory
from alpacka.utils import validation

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIGS = os.path.join(REPO_ROOT, 'alpacka', 'configs')

# Sizes only: the recipe (agent, network, trainer, their original names) is
# the shipped file's.
TINY = ['Runner.n_epochs = 2', 'Runner.n_envs = 2',
        'Runner.n_precollect_epochs = 1', 'Runner.episode_time_limit = 6',
        'Sokoban.dim_room = (6, 6)', 'Sokoban.num_boxes = 1',
        'DeterministicMCTSAgent.n_passes = 4', 'convnet_mnist.d_conv = 4',
        'convnet_mnist.d_ff = 8', 'convnet_mnist.n_conv_layers = 2',
        'SupervisedTrainer.n_steps_per_epoch = 2']


def test_the_original_recipe_runs_unchanged_through_the_cli(tmp_path):
    output_dir = tmp_path / 'run'
    result = subprocess.run(
        [sys.executable, '-m', 'alpacka.runner',
         f'--config_file={os.path.join(CONFIGS, "mcts_sokoban.gin")}',
         *(f'--config={binding}' for binding in TINY),
         f'--output_dir={output_dir}'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'), check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    operative = (output_dir / 'config.gin').read_text()
    for name in ('DeterministicMCTSAgent.gamma = 0.99',
                 'ScalarValueTraits.dead_end_value = -2.0',
                 'SupervisedTrainer.replay_buffer_sampling_hierarchy',
                 'RMSprop.learning_rate = 0.0001',
                 'convnet_mnist.n_conv_layers = 2'):
        assert name in operative, name
    with open(run_directory.metrics_path(str(output_dir)),
              encoding='utf-8') as metrics_file:
        names = {json.loads(line)['name'] for line in metrics_file}
    # Epoch 0 precollects; epoch 1 trains the value network with the
    # original's metrics.
    assert {'episode/solved_rate', 'agent/value_mean', 'train/mae',
            'train/mse'} <= names


def test_the_small_room_config_binds_only_existing_names():
    with gin.unlock_config():
        gin.clear_config()
    try:
        cli.parse_gin([os.path.join(CONFIGS, 'mcts_sokoban_small.gin')], [])
        validation.check_bindings()
        assert gin.query_parameter('Sokoban.dim_room') == (8, 8)
        assert gin.query_parameter('Sokoban.num_boxes') == 2
        assert gin.query_parameter('DeterministicMCTSAgent.gamma') == 0.99
    finally:
        gin.clear_config()
