"""Unit tests of the Checkpointer (the CLI tests cover it end to end)."""

import json
import os

import pytest

from alpacka import errors
from alpacka.runner import checkpointing


class _Component:
    """A network or trainer stand-in: saves and restores one text file."""

    def __init__(self, state='', fail_restore=False):
        self.state = state
        self.fail_restore = fail_restore
        self.restored_from = None

    def save(self, path):
        """Writes the state to path."""
        with open(path, 'w', encoding='utf-8') as state_file:
            state_file.write(self.state)

    def restore(self, path):
        """Reads the state from path."""
        if self.fail_restore:
            raise ValueError('unexpected end of data')
        with open(path, encoding='utf-8') as state_file:
            self.state = state_file.read()
        self.restored_from = path


def _save(checkpointer, epoch):
    return checkpointer.save(epoch, _Component(f'net {epoch}'),
                             _Component(f'trainer {epoch}'),
                             {'counters': {'env_steps': 10 * epoch}})


def test_no_checkpoint_yet(tmp_path):
    checkpointer = checkpointing.Checkpointer(str(tmp_path))
    assert checkpointer.latest() is None
    assert checkpointer.restore(_Component(), _Component()) is None


def test_save_then_restore_round_trips(tmp_path):
    checkpointer = checkpointing.Checkpointer(str(tmp_path))
    directory = _save(checkpointer, 3)
    assert directory == os.path.join(tmp_path, 'checkpoints', 'epoch_000003')
    assert checkpointer.latest() == directory
    network, trainer = _Component(), _Component()
    state = checkpointer.restore(network, trainer)
    assert state == {'counters': {'env_steps': 30}, 'epoch': 3}
    assert (network.state, trainer.state) == ('net 3', 'trainer 3')
    assert network.restored_from == os.path.join(directory, 'network.ckpt')


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    checkpointer = checkpointing.Checkpointer(str(tmp_path), keep=2)
    for epoch in (1, 2, 3):
        _save(checkpointer, epoch)
    assert sorted(os.listdir(checkpointer.directory)) == [
        'epoch_000002', 'epoch_000003', 'latest']
    assert checkpointer.restore(_Component(), _Component())['epoch'] == 3


def test_a_checkpoint_killed_while_written_is_ignored_and_cleaned(tmp_path):
    checkpointer = checkpointing.Checkpointer(str(tmp_path))
    _save(checkpointer, 1)
    # What a run killed while writing epoch 5's checkpoint leaves behind.
    os.makedirs(os.path.join(checkpointer.directory, '.epoch_000005.tmp'))
    network = _Component()
    assert checkpointer.restore(network, _Component())['epoch'] == 1
    assert network.state == 'net 1'
    _save(checkpointer, 2)
    assert sorted(os.listdir(checkpointer.directory)) == ['epoch_000002',
                                                          'latest']


def test_a_pointer_to_a_missing_checkpoint_is_corrupt(tmp_path):
    checkpointer = checkpointing.Checkpointer(str(tmp_path))
    os.makedirs(checkpointer.directory)
    with open(os.path.join(checkpointer.directory, 'latest'), 'w',
              encoding='utf-8') as latest:
        latest.write('epoch_000007\n')
    with pytest.raises(errors.CorruptCheckpointError,
                       match="names 'epoch_000007'"):
        checkpointer.restore(_Component(), _Component())


def test_a_corrupt_runner_state_names_the_file(tmp_path):
    checkpointer = checkpointing.Checkpointer(str(tmp_path))
    directory = _save(checkpointer, 1)
    runner_path = os.path.join(directory, 'runner.json')
    with open(runner_path, 'w', encoding='utf-8') as runner_file:
        json.dump({'counters': {}}, runner_file)  # No epoch.
    with pytest.raises(errors.CorruptCheckpointError, match=runner_path):
        checkpointer.restore(_Component(), _Component())


def test_a_component_that_fails_to_restore_names_its_file(tmp_path):
    checkpointer = checkpointing.Checkpointer(str(tmp_path))
    directory = _save(checkpointer, 1)
    with pytest.raises(errors.CorruptCheckpointError) as caught:
        checkpointer.restore(_Component(), _Component(fail_restore=True))
    message = str(caught.value)
    assert os.path.join(directory, 'trainer.ckpt') in message
    assert 'unexpected end of data' in message
