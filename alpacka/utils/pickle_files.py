"""Atomic pickle files with clear errors for corrupt ones."""

import pickle
from typing import Any

from alpacka.errors import CorruptCheckpointError
from alpacka.utils import atomic_files


def save_pickle(path: str, obj: Any) -> None:
    """Pickles obj to path atomically (the old file survives a crash)."""
    with atomic_files.atomic_write(path) as pickle_file:
        pickle.dump(obj, pickle_file, protocol=pickle.HIGHEST_PROTOCOL)


def load_pickle(path: str) -> Any:
    """Unpickles path.

    Raises:
        FileNotFoundError: path does not exist.
        CorruptCheckpointError: path exists but does not unpickle; the
            message names the file.
    """
    try:
        with open(path, 'rb') as pickle_file:
            return pickle.load(pickle_file)
    except FileNotFoundError:
        raise
    except Exception as error:  # pylint: disable=broad-except
        raise CorruptCheckpointError(
            f'Checkpoint file {path} is corrupt or unreadable '
            f'({type(error).__name__}: {error}).') from error
