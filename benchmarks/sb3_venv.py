"""Finds or makes the virtualenv with Stable-Baselines3 that SAC benchmarks
compare against.

Stable-Baselines3 needs torch, which Alpacka does not depend on, so it lives
in a virtualenv of its own (by default ~/.cache/alpacka/sb3-venv), made on
first use with ``pip install torch==2.13.0 stable-baselines3`` (the CPU build
of torch; on this machine pip takes it from local disk). Where that cannot
be done, the benchmarks skip the comparison and say why.
"""

import os
import subprocess
import sys
from typing import Optional, Tuple

DEFAULT_VENV = os.path.join(os.path.expanduser('~'), '.cache', 'alpacka',
                            'sb3-venv')
PACKAGES = ['torch==2.13.0', 'stable-baselines3', 'gymnasium']
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sb3_sac.py')


def _works(python: str) -> bool:
    return subprocess.run(
        [python, '-c', 'import stable_baselines3, torch'],
        capture_output=True, check=False).returncode == 0


def sb3_python(venv: Optional[str] = None,
               install: bool = True) -> Tuple[Optional[str], str]:
    """The Python of a virtualenv with Stable-Baselines3.

    Args:
        venv: The virtualenv's directory (None: DEFAULT_VENV).
        install: Make the virtualenv (and install into it) if it lacks
            Stable-Baselines3.

    Returns:
        ``(python, '')``, or ``(None, why not)``.
    """
    venv = venv or DEFAULT_VENV
    python = os.path.join(venv, 'bin', 'python')
    if os.path.exists(python) and _works(python):
        return python, ''
    if not install:
        return None, f'no Stable-Baselines3 in {venv} (installing disabled)'
    print(f'Installing Stable-Baselines3 and the CPU torch into {venv} '
          f'(once)...', file=sys.stderr, flush=True)
    steps = [[sys.executable, '-m', 'venv', venv],
             [python, '-m', 'pip', 'install', '-q', *PACKAGES]]
    for command in steps:
        result = subprocess.run(command, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            return None, (f'`{" ".join(command)}` failed: ' + ' / '.join(tail))
    if not _works(python):
        return None, f'Stable-Baselines3 does not import in {venv}'
    return python, ''
