"""alpacka.utils.pickle_files: atomic pickles, clear errors for corrupt ones."""

import pytest

from alpacka import errors
from alpacka.utils import pickle_files


def test_round_trip(tmp_path):
    path = str(tmp_path / 'trainer.ckpt')
    pickle_files.save_pickle(path, {'buffer': [1, 2, 3]})
    assert pickle_files.load_pickle(path) == {'buffer': [1, 2, 3]}


def test_a_missing_file_is_not_a_corrupt_one(tmp_path):
    with pytest.raises(FileNotFoundError):
        pickle_files.load_pickle(str(tmp_path / 'nope.ckpt'))


def test_a_corrupt_file_raises_an_error_naming_it(tmp_path):
    path = tmp_path / 'trainer.ckpt'
    path.write_bytes(b'\x80\x05 not a pickle')
    with pytest.raises(errors.CorruptCheckpointError, match=str(path)):
        pickle_files.load_pickle(str(path))


def test_the_error_type_is_the_one_in_alpacka_errors():
    assert pickle_files.CorruptCheckpointError is errors.CorruptCheckpointError
