"""The experiments of a sweep as jobs: their command lines, checks, status
files, and running one of them.

A job runs ``python -m alpacka.runner`` through child_guard.py, in its own
process group, with stdout and stderr appended to ``<output_dir>/log.txt``;
its state is kept in ``<output_dir>/sweep_status.json``, written atomically.
``run_job`` runs one job to its end and is the body of the sweep's Ray tasks.
"""

import contextlib
import dataclasses
import datetime
import json
import os
import shlex
import signal
import socket
import subprocess
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import gin

from alpacka import errors
from alpacka.experiments import child_guard
from alpacka.experiments import naming
from alpacka.runner import cli
from alpacka.runner import config_drift
from alpacka.utils import atomic_files
from alpacka.utils import gin_bindings as bindings_lib
from alpacka.utils import run_directory

STATUS_FILE = run_directory.SWEEP_STATUS_FILE
LOG_FILE = run_directory.SWEEP_LOG_FILE
RUNNER_MODULE = 'alpacka.runner'

FINISHED = 'finished'
FAILED = 'failed'
INTERRUPTED = 'interrupted'
RUNNING = 'running'

# How long stopped experiments may take to checkpoint before being killed.
STOP_GRACE_S = 20.0


@dataclasses.dataclass
class ScriptArgs:
    """What a spec's ``script`` passes to alpacka.runner.

    Attributes:
        config_files: Its ``--config_file`` values.
        bindings: Its ``--config`` values.
        flags: Other arguments (e.g. ``--tensorboard``); ``--output_dir`` and
            ``--mrunner`` are dropped.
    """
    config_files: List[str]
    bindings: List[str]
    flags: List[str]


def parse_script(script: str) -> ScriptArgs:
    """Splits a spec's script (``python3 -m alpacka.runner --mrunner ...``).

    Raises:
        ConfigError: the script does not run ``-m alpacka.runner``.
    """
    tokens = shlex.split(script or '')
    starts = [i for i in range(len(tokens) - 1)
              if tokens[i] == '-m' and tokens[i + 1] == RUNNER_MODULE]
    if not starts:
        raise errors.ConfigError(
            f'The spec\'s script {script!r} does not run "python3 -m '
            f'{RUNNER_MODULE}"; alpacka.sweep runs only Alpacka experiments.')
    args = ScriptArgs(config_files=[], bindings=[], flags=[])
    tokens = iter(tokens[starts[0] + 2:])
    for token in tokens:
        name, has_value, value = token.partition('=')
        if name in ('--config_file', '--config', '--output_dir') and not (
                has_value):
            value = next(tokens, '')
        if name == '--config_file':
            args.config_files.append(value)
        elif name == '--config':
            args.bindings.append(value)
        elif name not in ('--output_dir', '--mrunner'):
            args.flags.append(token)
    return args


def resolve_config_file(path: str, spec_path: str) -> str:
    """An absolute path for a config file named in a spec's script.

    Relative paths are tried against the working directory first, then
    against the spec's directory and each of its parents (specs name configs
    relative to the project's root). A file found nowhere is returned
    relative to the working directory, for the check to report.
    """
    path = os.path.expanduser(path)
    if os.path.isabs(path) or os.path.exists(path):
        return os.path.abspath(path)
    directory = os.path.dirname(os.path.abspath(spec_path))
    while True:
        candidate = os.path.join(directory, path)
        if os.path.exists(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.path.abspath(path)
        directory = parent


@dataclasses.dataclass
class Job:
    """One experiment of the sweep, ready to run (and picklable for Ray).

    Attributes:
        name: Its directory name under the sweep's output directory.
        values: ``{short key: value text}`` of the varying parameters.
        config_files: Absolute paths of its Gin files.
        bindings: Its --config values, in order.
        runner_args: The arguments of ``python -m alpacka.runner``.
        output_dir: ``<sweep dir>/<name>``.
        cwd: Where it runs (the launcher's working directory).
        env: Its whole environment.
        n_epochs: Runner.n_epochs as configured (None: unknown or unbounded).
    """
    name: str
    values: Dict[str, str]
    config_files: List[str]
    bindings: List[str]
    runner_args: List[str]
    output_dir: str
    cwd: str
    env: Dict[str, str]
    n_epochs: Optional[int] = None

    @property
    def log_path(self) -> str:
        """Where its stdout and stderr go."""
        return os.path.join(self.output_dir, LOG_FILE)

    @property
    def status_path(self) -> str:
        """Its sweep_status.json."""
        return os.path.join(self.output_dir, STATUS_FILE)


def _child_env(experiment: Dict[str, Any], cwd: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(experiment.get('env') or {})
    # The experiment imports alpacka and modules next to the configs (cwd).
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    paths = [cwd]
    if os.path.basename(package_root) not in ('site-packages',
                                              'dist-packages'):
        paths.append(package_root)
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(dict.fromkeys(paths))
    env['PYTHONUNBUFFERED'] = '1'  # So that log.txt shows progress live.
    env.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    if experiment.get('with_neptune') and experiment.get('project'):
        env.setdefault('NEPTUNE_PROJECT', experiment['project'])
    return env


def make_jobs(spec_path: str, experiments: List[Dict[str, Any]],
              output_dir: str, extra_bindings: Sequence[str],
              extra_flags: Sequence[str] = ()) -> List[Job]:
    """Builds the jobs of a sweep from a spec's experiments.

    extra_bindings and extra_flags (e.g. ``--allow_config_change``) go to
    every experiment, after its own.

    Raises:
        ConfigError: a script does not run alpacka.runner, or a parameter
            has no Gin literal.
    """
    parameter_dicts = [experiment['parameters'] for experiment in experiments]
    default_name = experiments[0].get('name') or os.path.splitext(
        os.path.basename(spec_path))[0]
    names = naming.experiment_names(parameter_dicts, default=str(default_name))
    keys = naming.varying_keys(parameter_dicts)
    short = naming.short_keys(keys)
    cwd = os.getcwd()
    jobs = []
    for name, experiment in zip(names, experiments):
        script = parse_script(experiment.get('script', ''))
        config_files = [resolve_config_file(path, spec_path)
                        for path in script.config_files]
        try:
            spec_bindings = bindings_lib.parameters_to_bindings(
                experiment['parameters'])
        except bindings_lib.UnsupportedValueError as error:
            raise errors.ConfigError(f'{error} (experiment {name})') from error
        all_bindings = spec_bindings + script.bindings + list(extra_bindings)
        flags = list(script.flags)
        wanted = [*extra_flags] + (['--neptune'] if
                                   experiment.get('with_neptune') else [])
        flags.extend(flag for flag in wanted if flag not in flags)
        job_dir = os.path.join(output_dir, name)
        runner_args = ([f'--output_dir={job_dir}'] +
                       [f'--config_file={path}' for path in config_files] +
                       [f'--config={binding}' for binding in all_bindings] +
                       flags)
        jobs.append(Job(
            name=name,
            values={short[key]: naming.value_text(experiment['parameters'][key])
                    for key in keys if key in experiment['parameters']},
            config_files=config_files, bindings=all_bindings,
            runner_args=runner_args, output_dir=job_dir, cwd=cwd,
            env=_child_env(experiment, cwd)))
    return jobs


def validate(jobs: Sequence[Job]) -> None:
    """Parses every job's config files and bindings in this process.

    Sets each job's n_epochs. Leaves Gin's config empty.

    Raises:
        ConfigError: a job's config is wrong, or differs from the config of
            the run already in its directory (see config_drift) without
            ``--allow_config_change``; names the job and the binding.
    """
    try:
        for i, job in enumerate(jobs):
            gin.clear_config()
            try:
                cli.parse_gin(job.config_files, job.bindings)
                config_drift.check(
                    job.output_dir,
                    allow_change=config_drift.FLAG in job.runner_args)
            except errors.ConfigError as error:
                raise errors.ConfigError(
                    f'Experiment {job.name} ({i + 1} of {len(jobs)}): {error} '
                    f'No experiment was started.') from error
            try:
                n_epochs = gin.query_parameter('Runner.n_epochs')
            except ValueError:
                n_epochs = None
            job.n_epochs = n_epochs if isinstance(n_epochs, int) else None
    finally:
        gin.clear_config()


def read_status(job: Job) -> Optional[Dict[str, Any]]:
    """The job's sweep_status.json, or None if there is none (or it is not
    readable JSON)."""
    try:
        with open(job.status_path, encoding='utf-8') as status_file:
            return json.load(status_file)
    except (OSError, ValueError):
        return None


def write_status(job: Job, fields: Dict[str, Any]) -> Dict[str, Any]:
    """Writes the job's sweep_status.json atomically; returns its content."""
    status = {'name': job.name, 'output_dir': job.output_dir,
              'log': job.log_path, 'runner_args': job.runner_args, **fields}
    os.makedirs(job.output_dir, exist_ok=True)
    with atomic_files.atomic_write(job.status_path, 'w') as status_file:
        json.dump(status, status_file, indent=1)
        status_file.write('\n')
    return status


def now_iso() -> str:
    """The local time, to the second, in ISO format."""
    return datetime.datetime.now().isoformat(timespec='seconds')


def alive_elsewhere(status: Dict[str, Any], job: Job) -> Optional[int]:
    """The PID of an earlier launch of the job still running on this host."""
    pid = status.get('pid')
    if (status.get('status') != RUNNING or not pid or
            status.get('host') != socket.gethostname()):
        return None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return None
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as cmdline_file:
            arguments = cmdline_file.read().decode('utf-8', 'replace')
    except OSError:
        return pid  # No /proc: trust the PID.
    # The PID may have been reused by another process since.
    return pid if job.runner_args[0] in arguments.split('\0') else None


def _command(job: Job, python: str) -> List[str]:
    return [python, '-m', RUNNER_MODULE, *job.runner_args]


def launch(job: Job, python: str) -> Tuple[subprocess.Popen, float]:
    """Starts the job (guarded to stop when this process dies) and records it
    as running.

    Returns:
        The process and its start time (time.time()).
    """
    previous = read_status(job) or {}
    attempt = int(previous.get('attempts', 0)) + 1
    command = _command(job, python)
    os.makedirs(job.output_dir, exist_ok=True)
    started = time.time()
    with open(job.log_path, 'ab') as log:
        log.write(f'=== alpacka.sweep: attempt {attempt} at {now_iso()} on '
                  f'{socket.gethostname()}\n=== {shlex.join(command)}\n'
                  .encode('utf-8'))
        log.flush()
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [python, child_guard.__file__, str(os.getpid()), *command],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=job.cwd, env=job.env, start_new_session=True)
    write_status(job, {'status': RUNNING, 'attempts': attempt,
                       'pid': process.pid, 'host': socket.gethostname(),
                       'started': now_iso(), 'command': shlex.join(command)})
    return process, started


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    # The job leads its own process group (start_new_session): this reaches
    # the processes it started too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def stop(processes: Sequence[subprocess.Popen],
         grace_s: float = STOP_GRACE_S) -> None:
    """Interrupts processes (SIGINT, as Ctrl-C), kills those still running
    after grace_s seconds, and waits for all."""
    for process in processes:
        if process.poll() is None:
            _signal_group(process, signal.SIGINT)
    deadline = time.time() + grace_s
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def run_job(job: Job, python: str,
            grace_s: float = STOP_GRACE_S) -> Dict[str, Any]:
    """Runs a job to its end (the body of a Ray task).

    Interrupted (KeyboardInterrupt, which is how Ray cancels a task), it
    stops the experiment as Ctrl-C would.

    Returns:
        ``{'returncode', 'started', 'interrupted', 'host'}``.
    """
    process, started = launch(job, python)
    interrupted = False
    try:
        returncode = process.wait()
    except KeyboardInterrupt:
        interrupted = True
        stop([process], grace_s)
        returncode = process.returncode
    return {'returncode': returncode, 'started': started,
            'interrupted': interrupted, 'host': socket.gethostname()}


def record_end(job: Job, returncode: Optional[int], started: float,
               interrupted: bool = False, error: str = '') -> Dict[str, Any]:
    """Writes how a job ended into its status file.

    Args:
        job: The job.
        returncode: The experiment's exit code (None if it is unknown, e.g.
            its Ray task died).
        started: When it started (time.time()).
        interrupted: Whether the sweep stopped it.
        error: Why it failed, if not its exit code says so.

    Returns:
        The status: ``finished`` for exit code 0, ``interrupted`` if the
        sweep stopped it or it exited as on Ctrl-C, ``failed`` otherwise.
    """
    if returncode == 0:
        state = FINISHED
    elif interrupted or returncode in (cli.EXIT_INTERRUPTED, -signal.SIGINT):
        state = INTERRUPTED
    else:
        state = FAILED
    previous = read_status(job) or {}
    fields = {key: previous[key] for key in ('attempts', 'host', 'pid',
                                             'command') if key in previous}
    fields.update({
        'status': state, 'returncode': returncode,
        'started': datetime.datetime.fromtimestamp(started).isoformat(
            timespec='seconds'),
        'ended': now_iso(), 'duration_s': round(time.time() - started, 3)})
    if error:
        fields['error'] = error
    return write_status(job, fields)
