"""Helpers of the cluster tests: a Ray cluster of two nodes on this machine,
started by the steps of scripts/slurm/ray_cluster.sh, and an env that says
where it ran.

Ray workers on either node import this module through the driver's
sys.path, which Alpacka ships to them (the tests put this directory on the
driver's PYTHONPATH).
"""

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, Iterator, List

import gin
import gymnasium

from alpacka import envs

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SLURM_DIR = os.path.join(REPO_ROOT, 'scripts', 'slurm')
HELPERS_DIR = os.path.dirname(os.path.abspath(__file__))
# The ray command of the interpreter running the tests.
RAY = os.path.join(os.path.dirname(sys.executable), 'ray')
# alpacka_ray_up waits at most this long for the nodes; Ray needs about 20 s
# a node on a busy 2-core machine.
_NODE_WAIT_S = 150


# A small RayBatchStepper run: two workers of one CartPole each, two
# epochs; its envs record their nodes in record_dir. Each worker reserves a
# CPU: Ray's 'SPREAD' is best effort, and on a cluster just started it puts
# both workers on one node now and then.
RAY_STEPPER_CONFIG = """
import cluster_helpers
Runner.env_class = @cluster_helpers.NodeRecordingEnv
Runner.agent_class = @alpacka.agents.RandomAgent
Runner.batch_stepper_class = @alpacka.batch_steppers.RayBatchStepper
Runner.n_envs = 2
Runner.episode_time_limit = 10
Runner.n_epochs = 2
RayBatchStepper.n_workers = 2
RayBatchStepper.worker_cpus = 1
NodeRecordingEnv.record_dir = '{record_dir}'
"""


@gin.configurable
class NodeRecordingEnv(gymnasium.Wrapper):
    """Wraps env_class(); on each reset in a Ray actor (a stepper worker or
    a collector, not the driver), leaves an empty file named ``<node id>``
    in record_dir: the Ray node the actor runs on.

    Args:
        env_class: Makes the env to wrap.
        record_dir: Where the files go (one machine: all nodes see it).
    """

    def __init__(self, env_class: Callable = envs.CartPole,
                 record_dir: str = ''):
        super().__init__(env_class())
        self._record_dir = record_dir

    def reset(self, **kwargs):
        import ray  # pylint: disable=import-outside-toplevel
        if ray.is_initialized():
            context = ray.get_runtime_context()
            if context.get_actor_id() is not None:
                path = os.path.join(self._record_dir, context.get_node_id())
                with open(path, 'a', encoding='ascii'):
                    pass
        return super().reset(**kwargs)


def recorded_nodes(record_dir: str) -> List[str]:
    """Node ids NodeRecordingEnvs recorded in record_dir."""
    return sorted(os.listdir(record_dir))


def processes_using(path: str) -> List[int]:
    """Pids of the processes whose command line mentions path."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as cmdline:
                if path.encode() in cmdline.read():
                    pids.append(int(entry))
        except OSError:
            continue  # Gone meanwhile.
    return pids


def wait_for_no_processes_using(path: str, timeout_s: float = 15
                                ) -> List[int]:
    """Waits until no process mentions path; returns those left after
    timeout_s (Ray's processes take a few seconds to go)."""
    deadline = time.monotonic() + timeout_s
    while (pids := processes_using(path)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return pids


def kill_processes_using(path: str) -> List[int]:
    """SIGKILLs what processes_using(path) finds; returns their pids."""
    pids = processes_using(path)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return pids


def free_port() -> int:
    """A TCP port free on this machine now."""
    import socket  # pylint: disable=import-outside-toplevel
    with socket.socket() as sock:
        sock.bind(('', 0))
        return sock.getsockname()[1]


# jsonschema, which every Ray process imports, imports rfc3987_syntax if it
# is installed (it is in the project's venv, as an optional extra), and that
# import alone costs over 2 s of CPU: it builds a grammar. A module of that
# name that raises ImportError makes jsonschema skip it (it only checks the
# 'iri' formats, which Ray does not use).
_NO_RFC3987_SYNTAX = (
    'raise ImportError("rfc3987_syntax is kept out of the test cluster\'s '
    'Ray processes: its import takes seconds")\n')


def _python_path_without_rfc3987_syntax(temp_dir: str) -> str:
    """PYTHONPATH with a directory first that hides rfc3987_syntax."""
    stub_dir = os.path.join(temp_dir, 'stubs')
    os.makedirs(stub_dir, exist_ok=True)
    with open(os.path.join(stub_dir, 'rfc3987_syntax.py'), 'w',
              encoding='ascii') as stub:
        stub.write(_NO_RFC3987_SYNTAX)
    return os.pathsep.join(
        [stub_dir] + [path for path in
                      os.environ.get('PYTHONPATH', '').split(os.pathsep)
                      if path])


def cluster_env(temp_dir: str) -> Dict[str, str]:
    """Environment of the cluster's nodes and of its drivers.

    A token of its own (token authentication is Ray's default, and the
    cluster must not read or write ~/.ray), settings that keep several
    nodes on one host apart, and what keeps Ray's processes quick to start
    on a busy machine (the raylet aborts if its agents take over 15 s).
    """
    return dict(
        os.environ,
        PYTHONPATH=_python_path_without_rfc3987_syntax(temp_dir),
        ALPACKA_RAY=RAY,
        ALPACKA_RAY_TEMP_DIR=temp_dir,
        ALPACKA_RAY_PORT=str(free_port()),
        ALPACKA_RAY_CPUS='1',
        ALPACKA_RAY_LOCAL='1',
        ALPACKA_RAY_SHARED_HOST='1',
        ALPACKA_RAY_WAIT_S=str(_NODE_WAIT_S),
        # Python processes Ray starts with a node but no test needs: the log
        # monitor (it forwards workers' prints to the driver) and the
        # autoscaler's monitor; each would delay the agents.
        ALPACKA_RAY_START_ARGS='--include-log-monitor=false',
        ALPACKA_RAY_HEAD_ARGS='--no-monitor',
        RAY_AUTH_MODE='token',
        RAY_AUTH_TOKEN=secrets.token_hex(32),
        TF_CPP_MIN_LOG_LEVEL='3',
        PATH=os.path.dirname(sys.executable) + os.pathsep +
        os.environ.get('PATH', ''))


@contextlib.contextmanager
def two_node_cluster() -> Iterator[Dict[str, str]]:
    """A head and a worker node on this machine, 1 CPU each.

    Runs ``alpacka_ray_up head worker`` of scripts/slurm/ray_cluster.sh in a
    bash process (local mode: no srun) that holds the cluster until it gets
    SIGTERM, then runs ``alpacka_ray_down``.

    Yields:
        The environment for a driver: RAY_ADDRESS and the token set.

    Raises:
        RuntimeError: If the cluster does not come up, with the nodes' output;
            or if a Ray process of the cluster outlives it.
    """
    # Short: Ray's socket paths under it must stay below 107 characters.
    temp_dir = tempfile.mkdtemp(prefix='rc', dir='/tmp')
    env = cluster_env(temp_dir)
    address_file = os.path.join(temp_dir, 'address')
    log_path = os.path.join(temp_dir, 'cluster.log')
    script = (f'source {SLURM_DIR}/ray_cluster.sh\n'
              'trap "alpacka_ray_down; exit 0" TERM\n'
              'alpacka_ray_up head worker || { alpacka_ray_down; exit 1; }\n'
              f'echo "$RAY_ADDRESS" > {address_file}.part\n'
              f'mv {address_file}.part {address_file}\n'
              # Wake up for the trap at once: bash runs traps between
              # commands, and `wait` is interrupted by signals.
              'sleep infinity & wait\n')
    with open(log_path, 'w', encoding='utf-8') as log:
        holder = subprocess.Popen(  # pylint: disable=consider-using-with
            ['bash', '-c', script], env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while not os.path.exists(address_file):
            if holder.poll() is not None:
                raise RuntimeError(
                    'The two-node Ray cluster did not start:\n' +
                    _tail(log_path))
            time.sleep(0.5)
        with open(address_file, encoding='ascii') as address:
            env['RAY_ADDRESS'] = address.read().strip()
        yield env
    finally:
        if holder.poll() is None:
            holder.send_signal(signal.SIGTERM)
            try:
                holder.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        # The holder's session: `sleep`, and whatever a node left.
        with contextlib.suppress(OSError):
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        leftovers = wait_for_no_processes_using(temp_dir)
        kill_processes_using(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
    if leftovers:
        raise RuntimeError(f'Ray processes outlived the cluster: {leftovers}')


def _tail(path: str, n_lines: int = 40) -> str:
    with open(path, encoding='utf-8', errors='replace') as text:
        return ''.join(text.readlines()[-n_lines:])
