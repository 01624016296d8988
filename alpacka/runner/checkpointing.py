"""Run checkpoints: atomic, resumable, never silently overwritten when corrupt.

Layout under the output directory::

    checkpoints/
      latest              text file naming the newest whole checkpoint
      epoch_000012/       network.ckpt, trainer.ckpt, runner.json

A checkpoint directory is written under a temporary name and renamed when
complete; only then does ``latest`` (replaced atomically) point to it. A crash
at any instant leaves ``latest`` naming a whole checkpoint (or no checkpoint
yet).
"""

import json
import os
import shutil
from typing import Any, Dict, Optional

from alpacka.utils import atomic_files
from alpacka.utils import run_directory
from alpacka.errors import CheckpointWriteError, CorruptCheckpointError

_NETWORK = 'network.ckpt'
_TRAINER = 'trainer.ckpt'
_RUNNER = 'runner.json'


def _describe_write_error(error: BaseException) -> str:
    """'File too large: <file>' for an OSError, else 'Type: message'."""
    if isinstance(error, OSError) and error.strerror:
        filename = f': {error.filename}' if error.filename else ''
        return f'{error.strerror}{filename}'
    return f'{type(error).__name__}: {error}'


class Checkpointer:
    """Saves and restores the Runner's state in ``<output_dir>/checkpoints``.

    Args:
        output_dir: The run's output directory.
        keep: How many of the newest checkpoints to keep on disk.
    """

    def __init__(self, output_dir: str, keep: int = 1):
        self._directory = run_directory.checkpoints_dir(output_dir)
        self._keep = max(keep, 1)

    @property
    def directory(self) -> str:
        """The checkpoints directory."""
        return self._directory

    def _latest_path(self) -> str:
        return os.path.join(self._directory,
                            run_directory.LATEST_CHECKPOINT_FILE)

    def latest(self) -> Optional[str]:
        """The newest whole checkpoint's directory, or None if there is none.

        Raises:
            CorruptCheckpointError: ``latest`` names a missing checkpoint.
        """
        latest_path = self._latest_path()
        if not os.path.exists(latest_path):
            return None
        with open(latest_path, encoding='utf-8') as latest_file:
            name = latest_file.read().strip()
        checkpoint_dir = os.path.join(self._directory, name)
        if not name or not os.path.isdir(checkpoint_dir):
            raise CorruptCheckpointError(
                f'Checkpoint pointer {latest_path} names {name!r}, which is '
                f'not a checkpoint directory. Delete {self._directory} to '
                f'start the run afresh, or restore the missing checkpoint.')
        return checkpoint_dir

    def save(self, epoch: int, network: Any, trainer: Any,
             runner_state: Dict[str, Any]) -> str:
        """Writes a checkpoint of the state after ``epoch`` epochs.

        Args:
            epoch: Number of completed epochs.
            network: Has save(path).
            trainer: Has save(path).
            runner_state: JSON-serialisable Runner state.

        Returns:
            The checkpoint's directory.

        Raises:
            CheckpointWriteError: a write failed (a full disk, a size limit);
                the partial checkpoint is removed and ``latest`` still names
                the previous one, whole.
        """
        name = f'epoch_{epoch:06d}'
        final_dir = os.path.join(self._directory, name)
        tmp_dir = os.path.join(self._directory, f'.{name}.tmp')
        try:
            os.makedirs(self._directory, exist_ok=True)
            shutil.rmtree(tmp_dir, ignore_errors=True)
            os.makedirs(tmp_dir)
            network.save(os.path.join(tmp_dir, _NETWORK))
            trainer.save(os.path.join(tmp_dir, _TRAINER))
            with atomic_files.atomic_write(os.path.join(tmp_dir, _RUNNER),
                                           'w') as runner_file:
                json.dump(dict(runner_state, epoch=epoch), runner_file)
            # A directory of this name can only be a leftover that latest
            # does not point to (latest never names a checkpoint being
            # written).
            shutil.rmtree(final_dir, ignore_errors=True)
            os.rename(tmp_dir, final_dir)
            atomic_files.fsync_directory(self._directory)
            with atomic_files.atomic_write(self._latest_path(),
                                           'w') as latest_file:
                latest_file.write(name + '\n')
        except Exception as error:  # pylint: disable=broad-except
            # Free the space the partial checkpoint took; latest was not
            # touched (its atomic write failed whole or did not happen).
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise CheckpointWriteError(
                f'writing the checkpoint {name} in {self._directory} failed '
                f'({_describe_write_error(error)}); it was not kept.'
            ) from error
        self._prune(keep_name=name)
        return final_dir

    def _prune(self, keep_name: str) -> None:
        names = sorted(entry for entry in os.listdir(self._directory)
                       if entry.startswith('epoch_') and entry != keep_name)
        for name in names[:max(len(names) - (self._keep - 1), 0)]:
            shutil.rmtree(os.path.join(self._directory, name),
                          ignore_errors=True)
        # Left by a run killed while writing a checkpoint.
        atomic_files.remove_stale_temp_files(self._directory)

    def restore(self, network: Any, trainer: Any) -> Optional[Dict[str, Any]]:
        """Loads the newest checkpoint into network and trainer.

        Args:
            network: Has restore(path).
            trainer: Has restore(path).

        Returns:
            The saved runner state (with 'epoch'), or None if there is no
            checkpoint.

        Raises:
            CorruptCheckpointError: a checkpoint file is missing or unreadable;
                the message names it.
        """
        checkpoint_dir = self.latest()
        if checkpoint_dir is None:
            return None
        runner_path = os.path.join(checkpoint_dir, _RUNNER)
        try:
            with open(runner_path, encoding='utf-8') as runner_file:
                runner_state = json.load(runner_file)
            int(runner_state['epoch'])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CorruptCheckpointError(
                f'Checkpoint file {runner_path} is missing or corrupt '
                f'({type(error).__name__}: {error}).') from error
        for name, component in ((_NETWORK, network), (_TRAINER, trainer)):
            _restore_file(os.path.join(checkpoint_dir, name), component)
        return runner_state


def _restore_file(path: str, component: Any) -> None:
    """component.restore(path), any failure a CorruptCheckpointError."""
    try:
        component.restore(path)
    except CorruptCheckpointError:
        raise
    except Exception as error:  # pylint: disable=broad-except
        raise CorruptCheckpointError(
            f'Checkpoint file {path} could not be restored '
            f'({type(error).__name__}: {error}).') from error


def restore_network(checkpoint_dir: str, network: Any) -> None:
    """Loads only the network of a checkpoint (for playing it back).

    Raises:
        CorruptCheckpointError: the network file is missing or unreadable.
    """
    _restore_file(os.path.join(checkpoint_dir, _NETWORK), network)
