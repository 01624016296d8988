"""Tests for python3 -m alpacka.record: a real run, recorded as a GIF."""

import os
import shutil
import subprocess
import sys

import gin
import numpy as np
import pytest
from PIL import Image

import cli_helpers
from alpacka import envs
from alpacka.runner import recording
from alpacka.utils import run_directory

# One short epoch of SAC on CartPole: a real Keras network in the checkpoint.
_SAC_RUN = [
    '--config_file', os.path.join(cli_helpers.REPO_ROOT, 'alpacka', 'configs',
                                  'sac_cartpole.gin'),
    '--config', 'Runner.n_epochs=1',
    '--config', 'Runner.env_steps_per_epoch=60',
    '--config', 'Runner.episode_time_limit=40',
    '--config', 'Runner.callback_classes=[]',
    '--config', 'SoftActorCriticAgent.n_random_steps=30',
    '--config', 'SoftActorCriticTrainer.min_replay_size=30',
    '--config', 'SoftActorCriticTrainer.batch_size=8',
    '--config', 'SoftActorCriticNetwork.hidden_sizes=(8,)',
]


@gin.configurable
class RenderlessCartPole(envs.CartPole):
    """A CartPole that takes no render_mode."""

    def __init__(self):
        super().__init__()


@pytest.fixture(name='sac_run', scope='module')
def sac_run_fixture(tmp_path_factory):
    """The output directory of a finished one-epoch SAC run."""
    output_dir = tmp_path_factory.mktemp('sac_run')
    assert cli_helpers.main_in_process(
        [*_SAC_RUN, '--output_dir', output_dir]) == 0
    return str(output_dir)


def _record(args, capsys):
    gin.clear_config()
    code = recording.main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_records_a_greedy_episode_as_a_gif(sac_run, capsys):
    code, out, _ = _record([sac_run, '--max_steps', 25, '--fps', 20], capsys)
    assert code == 0
    path = os.path.join(sac_run, recording.DEFAULT_OUTPUT)
    steps = int(out.split(' in ')[1].split(' steps')[0])
    assert 1 <= steps <= 25
    assert f'wrote {steps + 1} frames (600x400) to {path}' in out
    render_env = envs.CartPole(render_mode='rgb_array')
    render_env.reset(seed=0)
    height, width, _ = render_env.render().shape
    with Image.open(path) as gif:
        assert gif.size == (width, height)
        first = np.asarray(gif.convert('RGB'))
        # GIFs merge identical consecutive frames, adding their durations:
        # the steps + 1 frames show for 50 ms each all the same.
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info['duration'])
    assert gif.n_frames <= steps + 1
    assert sum(durations) == 50 * (steps + 1)
    assert first.std() > 0  # A picture, not a blank frame.
    # Same seed, same episode; the run's directory only gained the GIF.
    again = os.path.join(sac_run, 'again.gif')
    assert _record([sac_run, '--max_steps', 25, '--fps', 20,
                    '--output', again], capsys)[0] == 0
    with open(path, 'rb') as one, open(again, 'rb') as other:
        assert one.read() == other.read()
    assert sorted(os.listdir(sac_run)) == sorted(
        ['again.gif', 'checkpoints', 'config.gin', 'episode.gif',
         'metrics.jsonl'])


def test_reads_the_checkpoints_network(sac_run, capsys, tmp_path):
    broken = str(tmp_path / 'broken')
    shutil.copytree(sac_run, broken)
    checkpoint = os.path.join(broken, 'checkpoints', 'epoch_000001')
    with open(os.path.join(checkpoint, 'network.ckpt'), 'wb') as network_file:
        network_file.write(b'not a network')
    code, _, err = _record([broken, '--checkpoint', 'epoch_000001'], capsys)
    assert code == 1
    assert 'network.ckpt is corrupt or unreadable' in err


def test_bad_input_is_one_paragraph_and_exit_2(sac_run, capsys, tmp_path):
    missing = tmp_path / 'missing'
    code, _, err = _record([missing], capsys)
    assert code == 2 and f'{missing} is not a directory' in err
    assert len(err.strip().splitlines()) == 1

    unstarted = tmp_path / 'unstarted'
    unstarted.mkdir()
    shutil.copy(run_directory.config_path(sac_run), unstarted)
    code, _, err = _record([unstarted], capsys)
    assert code == 2 and 'has no checkpoint yet' in err

    code, _, err = _record([sac_run, '--checkpoint', 'epoch_000009'], capsys)
    assert code == 2 and 'there are: epoch_000001' in err

    code, _, err = _record([sac_run, '--output', tmp_path / 'a.avi'], capsys)
    assert code == 2 and 'must be .gif or .mp4' in err

    # The command itself, as a user runs it.
    process = subprocess.run(
        [sys.executable, '-m', 'alpacka.record', str(missing)],
        cwd=cli_helpers.REPO_ROOT, capture_output=True, text=True,
        timeout=120, check=False)
    assert process.returncode == 2
    assert process.stderr.startswith('alpacka.record: error: ')
    assert 'is not a directory' in process.stderr


def test_an_env_that_cannot_render_is_refused(capsys, tmp_path):
    output_dir = tmp_path / 'renderless'
    config = cli_helpers.write(tmp_path / 'renderless.gin', '\n'.join([
        cli_helpers.SMALL_CONFIG,
        'Runner.env_class = @RenderlessCartPole',
        'Runner.n_epochs = 1']))
    assert cli_helpers.main_in_process(
        ['--config_file', config, '--output_dir', output_dir]) == 0
    code, _, err = _record([output_dir], capsys)
    assert code == 2
    assert "cannot render RGB frames: building it with render_mode='rgb_array'" in err
