"""The sweep and the run lock: experiments in use are refused, one line each,
and nothing of theirs is touched."""

import os

from experiments_helpers import read_status, write_spec

from alpacka.experiments import sweep
from alpacka.utils import run_directory
from alpacka.utils import run_lock


def test_experiments_whose_run_lock_is_held_are_refused(tmp_path, capsys):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1},
                      {'Runner.seed': [1, 2]},
                      gin_file=str(tmp_path / 'small.gin'))
    output_dir = tmp_path / 'sweep'
    # Runs started by hand on two experiments' directories (here: this
    # process holds their run locks, as `python3 -m alpacka.runner` would).
    holders = [run_lock.RunLock(str(output_dir / f'Runner.seed={seed}'))
               for seed in (1, 2)]
    for holder in holders:
        holder.acquire()
    try:
        assert sweep.main([spec, f'--output_dir={output_dir}']) == 2
        err = capsys.readouterr().err
        assert 'Traceback' not in err
        for seed in (1, 2):
            assert (f'\n  Runner.seed={seed} is in use by process '
                    f'{os.getpid()} (') in err
        for seed in (1, 2):
            # Neither its log nor its status was written.
            assert os.listdir(output_dir / f'Runner.seed={seed}') == [
                run_directory.RUN_LOCK_FILE]
        # The sweep's own lock went with the refusal.
        assert not (output_dir / sweep.LOCK_FILE).exists()
    finally:
        for holder in holders:
            holder.release()
    assert sweep.main([spec, f'--output_dir={output_dir}']) == 0
    for seed in (1, 2):
        job_dir = output_dir / f'Runner.seed={seed}'
        assert read_status(job_dir)['status'] == 'finished'
        assert not (job_dir / run_directory.RUN_LOCK_FILE).exists()


def test_a_sweep_whose_bindings_changed_is_refused_unless_allowed(
        tmp_path, capsys):
    spec = write_spec(tmp_path, {'Runner.n_epochs': 1}, {},
                      gin_file=str(tmp_path / 'small.gin'))
    output_dir = tmp_path / 'sweep'
    assert sweep.main([spec, f'--output_dir={output_dir}']) == 0
    job_dir = output_dir / 'test-sweep'
    with open(job_dir / run_directory.CONFIG_FILE, 'rb') as config_file:
        config = config_file.read()
    capsys.readouterr()
    changed = [spec, f'--output_dir={output_dir}', '--config=Runner.n_envs=3']
    assert sweep.main(changed) == 2
    err = capsys.readouterr().err
    assert 'Experiment test-sweep (1 of 1): The run in' in err
    assert '  Runner.n_envs: 2 in the run, 3 now\n' in err
    assert 'Traceback' not in err
    assert read_status(job_dir)['status'] == 'finished'
    assert sweep.main([*changed, '--allow_config_change']) == 0
    with open(job_dir / run_directory.CONFIG_FILE, 'rb') as config_file:
        assert config_file.read() == config
    assert len(os.listdir(run_directory.config_changes_dir(job_dir))) == 1
