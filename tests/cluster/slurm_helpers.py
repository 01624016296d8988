"""A real single-node SLURM (slurmctld and slurmd) in a temporary directory.

Debian's slurm-wlm 22.05 still has ``auth/none`` and ``cred/none``, so the
daemons run without munge; proctrack/linuxproc and task/none need no
cgroups. Both daemons run in the foreground as children of the test, on free
ports, with all their state under one directory, and ``SLURM_CONF`` points
the client commands (sbatch, srun, scontrol) at them.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from typing import Dict, Iterator, Optional


def unavailable_reason() -> Optional[str]:
    """None if a single-node SLURM can be started here, else why not."""
    missing = [command for command in ('slurmctld', 'slurmd', 'sbatch')
               if shutil.which(command) is None]
    if missing:
        return (f'SLURM is not installed ({", ".join(missing)} missing); '
                'on Debian: apt-get install -y slurm-wlm')
    if os.geteuid() != 0:
        return 'slurmd must run as root to start job steps'
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('', 0))
        return sock.getsockname()[1]


def _config(root: str, node: str, n_cpus: int) -> str:
    return f"""
ClusterName=alpacka-test
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName={node} NodeAddr=127.0.0.1 CPUs={n_cpus} State=UNKNOWN
PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


@contextlib.contextmanager
def single_node_slurm(root: str, n_cpus: int = 2,
                      timeout_s: float = 30) -> Iterator[Dict[str, str]]:
    """slurmctld and slurmd for this machine as one node of n_cpus CPUs.

    Args:
        root: An empty directory for the config, state, spool and logs.
        n_cpus: CPUs the node declares.
        timeout_s: How long to wait for the node to be idle.

    Yields:
        The environment for SLURM's client commands (SLURM_CONF set).

    Raises:
        RuntimeError: If the node is not idle within timeout_s, with the
            daemons' logs.
    """
    node = socket.gethostname().split('.')[0]
    for name in ('state', 'spool'):
        os.makedirs(os.path.join(root, name))
    conf = os.path.join(root, 'slurm.conf')
    with open(conf, 'w', encoding='utf-8') as conf_file:
        conf_file.write(_config(root, node, n_cpus))
    env = dict(os.environ, SLURM_CONF=conf)
    daemons = []
    try:
        for daemon in ('slurmctld', 'slurmd'):
            with open(os.path.join(root, f'{daemon}.out'), 'w',
                      encoding='utf-8') as out:
                daemons.append(subprocess.Popen(  # pylint: disable=consider-using-with
                    [daemon, '-D', '-f', conf], env=env, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + timeout_s
        while _node_state(env) != 'idle':
            if time.monotonic() > deadline:
                raise RuntimeError('SLURM did not come up:\n' + _logs(root))
            time.sleep(0.5)
        yield env
    finally:
        subprocess.run(['scancel', '--full', '--user=root'], env=env,
                       capture_output=True, check=False, timeout=30)
        for daemon in daemons:
            daemon.terminate()
        for daemon in daemons:
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()


def _node_state(env: Dict[str, str]) -> str:
    result = subprocess.run(['sinfo', '--noheader', '--format=%T'], env=env,
                            capture_output=True, text=True, check=False,
                            timeout=30)
    return result.stdout.strip()


def _logs(root: str) -> str:
    texts = []
    for name in ('slurmctld.out', 'slurmd.out', 'slurmctld.log',
                 'slurmd.log'):
        path = os.path.join(root, name)
        if os.path.exists(path):
            with open(path, encoding='utf-8', errors='replace') as log:
                texts.append(f'--- {name}\n' + ''.join(log.readlines()[-20:]))
    return '\n'.join(texts)
