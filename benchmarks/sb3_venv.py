"""Finds or makes the virtualenv with Stable-Baselines3 that SAC benchmarks
compare against: peer_venvs.py's 'sb3' virtualenv (~/.cache/alpacka/sb3-venv),
kept under its old names for benchmarks/sac_pendulum.py.
"""

import os
import sys
from typing import Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_venvs  # pylint: disable=wrong-import-position

DEFAULT_VENV = peer_venvs.venv_directory('sb3')
PACKAGES = peer_venvs.VENVS['sb3'].packages
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sb3_sac.py')


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
    return peer_venvs.peer_python('sb3', install=install, venv=venv)
