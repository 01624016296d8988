"""Whether the run's Ray node is still there: a watcher that outlives the driver.

What happens when the raylet of the driver's node dies (SIGKILL, as the
out-of-memory killer sends it), found by experiment with Ray 2.60: the
driver's core worker logs ``The connection to the plasma store is failed.
Terminate the process.`` in its log (``python-core-driver-<id>_<pid>.log``)
and ends the process from C++ with exit status 1 (Ray PR #53679 made core
workers exit as soon as their plasma connection fails). No Python exception
is raised, no handler, ``finally`` or ``atexit`` runs: the run cannot say
anything itself. When the driver happens to be waiting in ``ray.get`` at that
instant, Python may first get an ``ActorDiedError`` ("Owner's node has
crashed"), and the run fails through the CLI's usual handlers.

So the CLI starts a small watcher process (``NodeWatch``) for every run. It
holds one end of a socket pair with the driver and, every half second, reads
in /proc which Ray node the driver is connected to (the driver's open core
worker log names its node id) and whether that node's raylet process is
alive. Then:

- the driver ends normally (or through any Python handler): it sends
  ``done`` first, and the watcher exits silently;
- the driver vanishes without ``done`` (the socket reaches EOF): if Ray's
  log says it ended the driver for a lost raylet, or the watcher saw the
  raylet die while the driver was alive, the watcher writes the lost-node
  paragraph (``failures.lost_ray_node_paragraph``) on the run's stderr and
  into ``error.log``, and then ends what is left of the Ray instance the
  driver started (its agents may linger for more than half a minute without
  their raylet); otherwise (a driver killed by a user, a supervisor, a
  scheduler) it exits silently;
- the driver asks (``query``) while it handles an exception that Ray raised
  (``raised_by_ray``): the watcher answers whether the node's raylet died
  while the driver was connected to it (a ``ray.shutdown()`` on the way,
  which stops the raylet too, does not count), so the CLI can say so
  itself.

The watcher ends with the driver whatever happens (the kernel closes the
driver's end of the socket), ignores Ctrl-C and SIGTERM sent to the process
group (it must outlive the driver by a moment) and starts with the standard
library alone: this file is run by path (``python -I``), and imports Alpacka
only to write the paragraph. On systems without /proc it is not started.
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

_POLL_S = 0.5
_FAMILY_EVERY = 10
_FAMILY_GRACE_S = 5.0
_QUERY_TIMEOUT_S = 5.0
_DONE = b'd'
_QUERY = b'q'

_DRIVER_LOG = re.compile(r'python-core-driver-[0-9a-f]+_(\d+)\.log$')
# core_worker_process.cc: "Initializing worker at address: <ip>:<port>
# worker_id=... node_id=<hex>".
_NODE_LINE = re.compile(
    r'Initializing worker at address: ([^\s:]+):\d+ .*node_id=([0-9a-f]+)')
# What Ray's core worker logs before it ends a process whose raylet is gone.
_RAY_EXIT_MARKERS = ('connection to the plasma store is failed',
                     'local Raylet is dead', 'Raylet is dead')
# What ray.shutdown() logs (core_worker.cc, raylet_ipc_client.cc) before it
# stops the raylet of a local instance.
_SHUTDOWN_MARKERS = ('Sending disconnect message to the local raylet',
                     'Shutdown by ray.shutdown()')
_LOG_LINE_PREFIX = re.compile(r'^\[[^\]]*\] [\w.]+:\d+: ')


def _start_time(pid: int) -> Optional[int]:
    """The process's start time in clock ticks, or None if it is gone or a
    zombie (the pair (pid, start time) names one process, even if the pid
    is reused)."""
    try:
        with open(f'/proc/{pid}/stat', encoding='ascii') as stat_file:
            fields = stat_file.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ('Z', 'X'):
        return None
    return int(fields[19])


def _descendants(pid: int) -> Dict[int, int]:
    """``{pid: start time}`` of the process's descendants."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat', encoding='ascii') as stat_file:
                parent = int(stat_file.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found: Dict[int, int] = {}
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        start = _start_time(child)
        if start is not None and child not in found:
            found[child] = start
            stack.extend(children.get(child, []))
    return found


def _driver_log(pid: int) -> Optional[str]:
    """The Ray core worker log the process has open, if it is a Ray driver."""
    fd_dir = f'/proc/{pid}/fd'
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return None
    for name in names:
        try:
            target = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue
        match = _DRIVER_LOG.search(target)
        if match and int(match.group(1)) == pid:
            return target
    return None


def _raylet_of(node_id: str) -> Optional[int]:
    """The pid of the raylet process of a node, if it runs on this machine."""
    flag = f'--node_id={node_id}'.encode()
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as cmdline_file:
                argv = cmdline_file.read().split(b'\0')
        except OSError:
            continue
        if os.path.basename(argv[0]) == b'raylet' and flag in argv:
            return int(entry)
    return None


def ray_exit_message(driver_log: str) -> Optional[str]:
    """What Ray's core worker logged when it ended the driver for a lost
    raylet (the message without the log line's prefix), or None."""
    for line in reversed(_log_tail(driver_log)):
        if any(marker in line for marker in _RAY_EXIT_MARKERS):
            return _LOG_LINE_PREFIX.sub('', line).strip()
    return None


def raised_by_ray(error: BaseException) -> bool:
    """Whether Ray raised the exception or one it was raised from (an error
    of ray.exceptions anywhere in its chain of causes and contexts)."""
    ray_exceptions = sys.modules.get('ray.exceptions')
    if ray_exceptions is None:
        return False  # Ray was never imported: it raised nothing.
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ray_exceptions.RayError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _log_tail(path: str, n_bytes: int = 65536) -> List[str]:
    """The last lines of a file ([] if unreadable)."""
    try:
        with open(path, 'rb') as log_file:
            log_file.seek(0, os.SEEK_END)
            log_file.seek(max(log_file.tell() - n_bytes, 0))
            return log_file.read().decode(errors='replace').splitlines()
    except OSError:
        return []


def shut_down_by_driver(driver_log: str) -> bool:
    """Whether the driver's last Ray connection was closed by the driver
    itself (``ray.shutdown()`` logs its disconnection from the raylet)."""
    for line in reversed(_log_tail(driver_log)):
        if any(marker in line for marker in _SHUTDOWN_MARKERS):
            return True
        if _NODE_LINE.search(line):
            return False  # Connected again after any earlier shutdown.
    return False


class RayNode:
    """The Ray node a driver is connected to, as /proc shows it.

    Args:
        node_id: Ray's node id (hex).
        ip: The node's IP address.
        raylet_pid: The pid of its raylet on this machine (None: not found).
        driver_log: The driver's Ray core worker log.
    """

    def __init__(self, node_id: str, ip: str, raylet_pid: Optional[int],
                 driver_log: str):
        self.node_id = node_id
        self.ip = ip
        self.raylet_pid = raylet_pid
        self.driver_log = driver_log
        self._raylet_start = (None if raylet_pid is None
                              else _start_time(raylet_pid))

    @classmethod
    def of_driver(cls, pid: int) -> Optional['RayNode']:
        """The node of the Ray driver with this pid (None: not a driver)."""
        driver_log = _driver_log(pid)
        if driver_log is None:
            return None
        try:
            with open(driver_log, encoding='utf-8', errors='replace') as log:
                head = log.read(65536)
        except OSError:
            return None
        match = _NODE_LINE.search(head)
        if match is None:
            return None
        node_id = match.group(2)
        return cls(node_id, match.group(1), _raylet_of(node_id), driver_log)

    def raylet_alive(self) -> bool:
        """Whether the raylet seen when the node was found still runs."""
        return (self._raylet_start is not None and
                _start_time(self.raylet_pid) == self._raylet_start)

    def describe(self) -> Dict[str, Any]:
        """JSON-serialisable fields for failures.lost_ray_node_paragraph."""
        return {'node_id': self.node_id, 'ip': self.ip,
                'raylet_pid': self.raylet_pid, 'driver_log': self.driver_log,
                'ray_message': ray_exit_message(self.driver_log)}


class _Watcher:
    """The watcher's state: the driver, its node, whether the raylet died
    while the driver was alive and connected to it."""

    def __init__(self, driver_pid: int, output_dir: str):
        self._driver_pid = driver_pid
        self._driver_start = _start_time(driver_pid)
        self._output_dir = output_dir
        self._node: Optional[RayNode] = None
        self._raylet_died_first = False
        self._shut_down_log: Optional[str] = None  # Closed by ray.shutdown.
        # The Ray processes the driver started ({pid: start time}), looked
        # up every _FAMILY_EVERY polls while it is connected to a node.
        self._family: Dict[int, int] = {}
        self._polls = 0

    def _driver_alive(self) -> bool:
        return (self._driver_start is not None and
                _start_time(self._driver_pid) == self._driver_start)

    def poll(self) -> None:
        """Finds the driver's node (Ray may start, stop and restart) and
        notes a raylet that died under a driver still connected to it.

        ``ray.shutdown()`` stops the raylet of a local instance too, but it
        first logs its disconnection in the driver's log (shut_down_by_driver):
        a raylet that dies after that line is not a lost node.
        """
        if self._raylet_died_first:
            return
        driver_log = _driver_log(self._driver_pid)
        if driver_log is not None and driver_log == self._shut_down_log:
            return  # Nothing to watch until Ray starts again.
        if driver_log is None:
            if self._node is not None and self._node.raylet_alive():
                self._node = None  # Not connected (any more): forget it.
            return  # (A dead one is kept: the driver may be ending.)
        if self._node is None or self._node.driver_log != driver_log:
            self._node = RayNode.of_driver(self._driver_pid)
            self._polls = 0
        if self._node is None:
            return
        if self._node.raylet_alive():
            if self._polls % _FAMILY_EVERY == 0:
                self._family = _descendants(self._driver_pid)
                self._family.pop(os.getpid(), None)
            self._polls += 1
        elif self._driver_alive():
            # The log is read after the raylet was seen dead: a shutdown
            # that stopped it has written its line by then.
            if shut_down_by_driver(driver_log):
                self._shut_down_log, self._node = driver_log, None
            else:
                self._raylet_died_first = True

    def _dead_node(self) -> Optional[Dict[str, Any]]:
        """The node's description if its raylet is gone, else None."""
        self.poll()
        node = self._node
        if node is None or node.raylet_pid is None or node.raylet_alive():
            return None
        return node.describe()

    def lost_node(self) -> Optional[Dict[str, Any]]:
        """The node's description if its raylet died under the driver."""
        node = self._dead_node()
        return node if self._raylet_died_first else None

    def end_family(self) -> None:
        """Kills what is left of the Ray instance the driver started, a
        moment after the driver (a process whose raylet is gone lingers on,
        an agent sometimes for more than half a minute); a Ray cluster's
        own processes are not the driver's descendants and stay."""
        deadline = time.monotonic() + _FAMILY_GRACE_S
        while True:
            alive = [pid for pid, start in self._family.items()
                     if _start_time(pid) == start]
            if not alive or time.monotonic() > deadline:
                break
            time.sleep(_POLL_S)
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass  # Gone in the meantime.

    def driver_vanished(self) -> None:
        """The driver ended without a word: say so if Ray's node was lost
        (Ray logged that it ended the driver for it, or the raylet died
        first)."""
        node = self._dead_node()
        if node is None or not (node['ray_message'] or
                                self._raylet_died_first):
            return  # Killed with its node (a process group), not by it.
        # Imported only now: the package costs a second of CPU to import.
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))))
        from alpacka.runner import failures  # pylint: disable=import-outside-toplevel
        paragraph = failures.lost_ray_node_paragraph(node, self._output_dir)
        error_log = failures.write_error_text(
            self._output_dir, paragraph + '\n\nRay: ' +
            (node['ray_message'] or '(nothing logged)') + '\n')
        if error_log:
            paragraph += f' The details are in {error_log}.'
        os.write(2, f'alpacka: error: {paragraph}\n'.encode())
        self.end_family()


def _watch(sock: socket.socket, watcher: _Watcher) -> None:
    """Serves the driver until it says done or vanishes."""
    while True:
        readable, _, _ = select.select([sock], [], [], _POLL_S)
        if not readable:
            watcher.poll()
            continue
        try:
            message = sock.recv(1)
        except OSError:
            message = b''
        if message == _DONE:
            return
        if message == _QUERY:
            reply = json.dumps(watcher.lost_node()) + '\n'
            try:
                sock.sendall(reply.encode())
            except OSError:
                pass
            continue
        watcher.driver_vanished()
        return


class NodeWatch:
    """The driver's side of the watcher (see the module docstring).

    Start it once the output directory is locked; ``lost_node()`` while
    handling an exception; ``close()`` when the run ends in any way Python
    sees. Where the watcher cannot start (no /proc), it does nothing.

    Args:
        output_dir: The run's output directory.
    """

    def __init__(self, output_dir: str):
        self._sock: Optional[socket.socket] = None
        self._process: Optional[subprocess.Popen] = None
        if not os.path.isdir(f'/proc/{os.getpid()}/fd'):
            return
        ours, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(  # pylint: disable=consider-using-with
                # -I: not even this file's directory on sys.path.
                [sys.executable, '-I', os.path.abspath(__file__),
                 str(theirs.fileno()), str(os.getpid()), output_dir],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),))
        except OSError:
            ours.close()
            return
        finally:
            theirs.close()
        self._sock = ours

    @property
    def watcher_pid(self) -> Optional[int]:
        """The watcher's process id (None: it was not started)."""
        return None if self._process is None else self._process.pid

    def lost_node(self) -> Optional[Dict[str, Any]]:
        """Whether the Ray node of this process was lost.

        Returns:
            None if it was not (or this process used no Ray), else the
            node's description for failures.lost_ray_node_paragraph.
        """
        if self._sock is None:
            return None
        try:
            self._sock.settimeout(_QUERY_TIMEOUT_S)
            self._sock.sendall(_QUERY)
            reply = b''
            while not reply.endswith(b'\n'):
                chunk = self._sock.recv(4096)
                if not chunk:
                    return None
                reply += chunk
            return json.loads(reply)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        """Tells the watcher that this process ends its run itself, and
        waits for it to exit. Closing twice is harmless."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.sendall(_DONE)
            except OSError:
                pass
            sock.close()
        process, self._process = self._process, None
        if process is not None:
            try:
                process.wait(timeout=_QUERY_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> 'NodeWatch':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def main(argv: List[str]) -> None:
    """The watcher process: ``ray_health.py <socket fd> <driver pid>
    <output dir>``."""
    # It must outlive the driver by a moment: Ctrl-C and a scheduler's
    # SIGTERM to the process group are the driver's to handle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fd, driver_pid, output_dir = int(argv[0]), int(argv[1]), argv[2]
    with socket.socket(fileno=fd) as sock:
        _watch(sock, _Watcher(driver_pid, output_dir))


if __name__ == '__main__':
    main(sys.argv[1:])
