"""Start-up: seconds from launching the quickstart to its first epoch's metrics.

Launches ``python3 -m alpacka.runner`` on the quickstart config (DummyNetwork,
LocalBatchStepper) and reads its stdout until the first
``episode/return_mean`` line. Also reports whether TensorFlow or Ray were
imported (they must not be) and the bare interpreter + ``import alpacka`` time.

    python3 benchmarks/startup.py [--repeats N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO_ROOT, 'alpacka', 'configs',
                          'shooting_random_cartpole.gin')
PROBE = """
import sys
from alpacka.runner import cli
cli.main(sys.argv[1:])
print('heavy modules:', sorted(m for m in ('tensorflow', 'ray')
                               if m in sys.modules), flush=True)
"""


def time_to_first_metrics(output_dir: str) -> tuple:
    """Returns (seconds to the first metrics line, heavy modules line)."""
    start = time.perf_counter()
    with subprocess.Popen(
            [sys.executable, '-c', PROBE, f'--config_file={QUICKSTART}',
             '--config=Runner.episode_time_limit=50',
             '--config=Runner.n_envs=8', '--config=Runner.n_epochs=1',
             f'--output_dir={output_dir}'],
            stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT) as process:
        first = None
        heavy = ''
        for line in process.stdout:
            if first is None and 'episode/return_mean' in line:
                first = time.perf_counter() - start
            if line.startswith('heavy modules:'):
                heavy = line.strip()
    return first, heavy


def time_import() -> float:
    """Seconds for a fresh interpreter to import alpacka."""
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', 'import alpacka.runner'], check=True)
    return time.perf_counter() - start


def main() -> None:
    """Prints the median over repeats."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    firsts, imports = [], []
    heavy = ''
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as output_dir:
            first, heavy = time_to_first_metrics(output_dir)
        firsts.append(first)
        imports.append(time_import())
    print(f'launch -> first epoch metrics (quickstart, 8 envs x 50 steps): '
          f'median {statistics.median(firsts):.2f} s over {args.repeats} '
          f'runs (min {min(firsts):.2f} s)')
    print(f'python -c "import alpacka.runner": median '
          f'{statistics.median(imports):.2f} s')
    print(heavy)


if __name__ == '__main__':
    main()
