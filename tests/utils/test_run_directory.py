"""alpacka.utils.run_directory: the names of a run directory's files."""

import os

from alpacka.utils import run_directory


def test_paths_inside_the_output_dir():
    assert run_directory.metrics_path('out') == os.path.join(
        'out', 'metrics.jsonl')
    assert run_directory.config_path('out') == os.path.join('out',
                                                            'config.gin')
    assert run_directory.checkpoints_dir('out') == os.path.join(
        'out', 'checkpoints')
    assert run_directory.batch_stepper_dir('out') == os.path.join(
        'out', 'batch_stepper')
    assert run_directory.tensorboard_dir('out') == os.path.join(
        'out', 'tensorboard')


def test_a_run_directory_is_one_with_metrics(tmp_path):
    assert not run_directory.is_run_directory(str(tmp_path))
    (tmp_path / 'metrics.jsonl').write_text('')
    assert run_directory.is_run_directory(str(tmp_path))
