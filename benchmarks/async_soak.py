"""Soak test of asynchronous training: memory over a long run.

Runs sac_pendulum_async.gin (with --epochs epochs, far more than --minutes
allows) through the CLI and samples, every --every_s seconds, the resident
memory of the driver (learner, feeder, replay) and of each Ray actor process
it started (collectors); after --minutes it stops the run (SIGTERM, which the
CLI handles as Ctrl-C) and prints the memory at minute 2 and at the end, and
their ratio. The replay grows by a few MB over such a run (its arrays are
preallocated, their pages touched as they fill), so flat memory means
within about 10%.

On a loaded machine a local Ray may fail to start (its raylet gives up on
its agents after 15 s); then start a head yourself (``ray start --head
--temp-dir=DIR ...``) and pass --ray_address and --ray_temp_dir: the run
connects to it, and the actors sampled are those of that head's raylet.

Usage:
    python benchmarks/async_soak.py [--minutes 20] [--every_s 10] [--root DIR]
        [--ray_address HOST:PORT --ray_temp_dir DIR]
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

import psutil

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO_ROOT, 'alpacka', 'configs',
                      'sac_pendulum_async.gin')
MB = 1024 * 1024


def _actor_parents(driver: psutil.Process, ray_temp_dir: str
                   ) -> List[psutil.Process]:
    """The processes whose descendants are the run's actors: the driver (a
    local Ray it started), or the raylet of the head in ray_temp_dir."""
    if not ray_temp_dir:
        return [driver]
    return [process for process in psutil.process_iter(['cmdline'])
            if 'raylet' in ' '.join(process.info['cmdline'] or ())
            and ray_temp_dir in ' '.join(process.info['cmdline'] or ())]


def sample(driver: psutil.Process, ray_temp_dir: str = ''
           ) -> Dict[str, float]:
    """Resident MB of the driver and of each of its Ray actor processes."""
    memory = {'driver': driver.memory_info().rss / MB}
    children = [child for parent in _actor_parents(driver, ray_temp_dir)
                for child in parent.children(recursive=True)]
    for child in children:
        try:
            name = ' '.join(child.cmdline())
            if name.startswith('ray::') and 'IDLE' not in name:
                memory[f'actor {child.pid}'] = child.memory_info().rss / MB
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return memory


def main() -> None:
    """Runs the soak and prints the memory figures."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--minutes', type=float, default=20.0)
    parser.add_argument('--every_s', type=float, default=10.0)
    parser.add_argument('--epochs', type=int, default=10_000)
    parser.add_argument('--root', default=None)
    parser.add_argument('--ray_address', default='')
    parser.add_argument('--ray_temp_dir', default='')
    args = parser.parse_args()
    root = args.root or tempfile.mkdtemp(prefix='async_soak_')
    output_dir = os.path.join(root, 'run')
    command = [sys.executable, '-m', 'alpacka.runner',
               f'--config_file={CONFIG}', f'--output_dir={output_dir}',
               f'--config=Runner.n_epochs={args.epochs}']
    print('Running', ' '.join(command[1:]), flush=True)
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    if args.ray_address:
        environment['RAY_ADDRESS'] = args.ray_address
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, env=environment)
    driver = psutil.Process(process.pid)
    samples: List[tuple] = []
    start = time.monotonic()
    try:
        while time.monotonic() - start < args.minutes * 60:
            time.sleep(args.every_s)
            if process.poll() is not None:
                sys.exit(f'the run ended early (exit {process.returncode})')
            minute = (time.monotonic() - start) / 60
            samples.append((minute, sample(driver, args.ray_temp_dir)))
            if len(samples) % max(1, int(60 / args.every_s)) == 0:
                memory = samples[-1][1]
                print(f'minute {minute:5.1f}: driver {memory["driver"]:.0f} '
                      f'MB, actors ' + ', '.join(
                          f'{value:.0f}' for name, value in memory.items()
                          if name != 'driver') + ' MB', flush=True)
    finally:
        # SIGTERM: the CLI stops as on Ctrl-C (SIGINT may be ignored in a
        # background job).
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            print('the run did not stop within 120 s of SIGTERM: killed',
                  flush=True)
    at_two = min(samples, key=lambda item: abs(item[0] - 2.0))
    end = samples[-1]
    print(f'\nMemory (resident MB) at minute {at_two[0]:.1f} and at minute '
          f'{end[0]:.1f}:')
    for name in at_two[1]:
        if name in end[1]:
            before, after = at_two[1][name], end[1][name]
            print(f'  {name}: {before:.0f} -> {after:.0f} MB '
                  f'({(after / before - 1) * 100:+.1f}%)')
    driver_total = [sum(memory.values()) for _, memory in (at_two, end)]
    print(f'  all: {driver_total[0]:.0f} -> {driver_total[1]:.0f} MB '
          f'({(driver_total[1] / driver_total[0] - 1) * 100:+.1f}%)')
    steps = _last_env_steps(output_dir)
    print(f'  env steps at the end: {steps:,}')


def _last_env_steps(output_dir: str) -> int:
    sys.path.insert(0, REPO_ROOT)
    from alpacka import metric_logging  # pylint: disable=import-outside-toplevel
    series = metric_logging.read_series(output_dir)
    steps = series.get('counters/env_steps', {})
    return int(max(steps.values())) if steps else 0


if __name__ == '__main__':
    main()
