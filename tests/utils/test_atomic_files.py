"""alpacka.utils.atomic_files: a crash leaves the old or the new file whole."""

import os
import stat
import subprocess
import sys

import pytest

from alpacka.utils import atomic_files


def test_atomic_write_replaces_the_file(tmp_path):
    path = tmp_path / 'state.txt'
    path.write_text('old')
    with atomic_files.atomic_write(str(path), 'w') as new_file:
        new_file.write('new')
    assert path.read_text() == 'new'
    assert os.listdir(tmp_path) == ['state.txt']


def test_an_error_while_writing_keeps_the_old_file(tmp_path):
    path = tmp_path / 'state.bin'
    path.write_bytes(b'old')
    with pytest.raises(RuntimeError, match='disk on fire'):
        with atomic_files.atomic_write(str(path)) as new_file:
            new_file.write(b'half')
            raise RuntimeError('disk on fire')
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['state.bin']


def test_the_new_file_gets_the_usual_permissions(tmp_path):
    path = tmp_path / 'config.gin'
    old_umask = os.umask(0o022)
    try:
        with atomic_files.atomic_write(str(path), 'w') as new_file:
            new_file.write('x')
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_a_killed_writer_leaves_the_old_file_and_a_temp_file_to_clean(
        tmp_path):
    path = tmp_path / 'metrics.jsonl'
    path.write_text('whole\n')
    # A process that dies (no cleanup, no exception) in the middle of a write.
    script = (
        'import os, sys\n'
        'from alpacka.utils import atomic_files\n'
        'with atomic_files.atomic_write(sys.argv[1], "w") as new_file:\n'
        '    new_file.write("torn")\n'
        '    new_file.flush()\n'
        '    os._exit(3)\n')
    result = subprocess.run([sys.executable, '-c', script, str(path)],
                            check=False, capture_output=True)
    assert result.returncode == 3
    assert path.read_text() == 'whole\n'
    leftovers = [name for name in os.listdir(tmp_path)
                 if name != 'metrics.jsonl']
    assert len(leftovers) == 1 and leftovers[0].endswith('.tmp')

    (tmp_path / '.checkpoint.tmp').mkdir()  # A directory left the same way.
    (tmp_path / 'keep.tmp').write_text('not hidden: not ours')
    atomic_files.remove_stale_temp_files(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ['keep.tmp', 'metrics.jsonl']
