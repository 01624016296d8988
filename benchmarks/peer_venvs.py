"""Finds or makes the virtualenvs that the learning benchmarks' peers run in.

The peers (benchmarks/sb3_peer.py, benchmarks/sbx_peer.py) need libraries
that Alpacka does not depend on (torch, JAX), so each lives in a virtualenv of
its own under ~/.cache/alpacka/, made on first use:

* 'sb3' (sb3-venv): Stable-Baselines3 and the CPU build of torch, with
  MuJoCo, MinAtar and ale-py (the Q-learning benchmarks' envs);
* 'sbx' (sbx-venv): SBX (Stable-Baselines in JAX, PyPI ``sbx-rl``) with JAX
  on the CPU. SBX builds on Stable-Baselines3, so torch comes too (pinned to
  the CPU build, which pip takes from local disk here, not the CUDA one), and
  on tensorflow-probability's JAX substrate (``tfp-nightly``; no TensorFlow).
  The JAX stack is pinned to versions that import and run together (SBX
  0.28 wants ``jax<0.12``);
* 'mctx' (mctx-venv): DeepMind's mctx (MCTS in JAX) with the same JAX on
  the CPU, for the search-speed benchmark (benchmarks/mctx_peer.py;
  gymnasium only because peer_common.py imports it).

Where a virtualenv cannot be made, ``peer_python`` says why in one line and
the benchmark skips that peer. This module imports nothing from Alpacka.
"""

import dataclasses
import os
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

CACHE_DIR = os.path.join(os.path.expanduser('~'), '.cache', 'alpacka')
BENCHMARKS_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass(frozen=True)
class PeerVenv:
    """How to make and check one peer's virtualenv.

    Attributes:
        directory: The virtualenv's directory name under CACHE_DIR.
        packages: What ``pip install`` is given.
        probe: Python code that runs in the virtualenv when it works.
        description: What is installed, for the one line on stderr.
        script: The peer script that runs in it.
    """

    directory: str
    packages: List[str]
    probe: str
    description: str
    script: str


TORCH = 'torch==2.13.0'  # The CPU build (the CUDA one is gigabytes).
VENVS: Dict[str, PeerVenv] = {
    'sb3': PeerVenv(
        directory='sb3-venv',
        packages=[TORCH, 'stable-baselines3', 'gymnasium[mujoco]',
                  'minatar==1.0.15', 'ale-py==0.12.1'],
        probe='import stable_baselines3, torch, mujoco, minatar, ale_py',
        description='Stable-Baselines3 and the CPU torch',
        script=os.path.join(BENCHMARKS_DIR, 'sb3_peer.py')),
    'sbx': PeerVenv(
        directory='sbx-venv',
        packages=[TORCH, 'sbx-rl==0.28.0', 'jax==0.10.2', 'jaxlib==0.10.2',
                  'flax==0.12.8', 'optax==0.2.8',
                  'tfp-nightly==0.26.0.dev20261027', 'gymnasium'],
        probe=('import sbx, jax, jax.numpy as jnp; '
               'from sbx import SAC, CrossQ; jnp.zeros(1).block_until_ready()'),
        description='SBX with JAX on the CPU',
        script=os.path.join(BENCHMARKS_DIR, 'sbx_peer.py')),
    'mctx': PeerVenv(
        directory='mctx-venv',
        packages=['mctx==0.0.71', 'jax==0.10.2', 'jaxlib==0.10.2',
                  'gymnasium'],
        probe=('import mctx, gymnasium, jax, jax.numpy as jnp; '
               'jnp.zeros(1).block_until_ready()'),
        description='mctx with JAX on the CPU',
        script=os.path.join(BENCHMARKS_DIR, 'mctx_peer.py')),
}


def venv_directory(name: str) -> str:
    """The default directory of the peer virtualenv ``name``."""
    return os.path.join(CACHE_DIR, _spec(name).directory)


def peer_script(name: str) -> str:
    """The path of the script that runs in the peer virtualenv ``name``."""
    return _spec(name).script


def _spec(name: str) -> PeerVenv:
    if name not in VENVS:
        raise ValueError(f'unknown peer virtualenv {name!r}; known: '
                         f'{", ".join(sorted(VENVS))}')
    return VENVS[name]


def _works(python: str, probe: str) -> bool:
    return subprocess.run([python, '-c', probe], capture_output=True,
                          check=False).returncode == 0


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines()
             if line.strip()]
    return ' / '.join(lines[-3:])


def peer_python(name: str, install: bool = True, venv: Optional[str] = None,
                base_python: str = sys.executable
                ) -> Tuple[Optional[str], str]:
    """The Python of the peer virtualenv ``name``, made if need be.

    Args:
        name: A key of VENVS ('sb3', 'sbx' or 'mctx').
        install: Make the virtualenv (and install into it) if its probe
            fails; otherwise only look.
        venv: The virtualenv's directory (None: venv_directory(name)).
        base_python: The Python that makes the virtualenv.

    Returns:
        ``(python, '')`` when the virtualenv works, else ``(None, why not)``
        with the reason in one line.

    Raises:
        ValueError: for an unknown name.
    """
    spec = _spec(name)
    venv = venv or venv_directory(name)
    python = os.path.join(venv, 'bin', 'python')
    if os.path.exists(python) and _works(python, spec.probe):
        return python, ''
    if not install:
        return None, (f'no working {spec.description} in {venv} '
                      f'(installing disabled)')
    print(f'Installing {spec.description} into {venv} (once)...',
          file=sys.stderr, flush=True)
    steps = [[base_python, '-m', 'venv', venv],
             [python, '-m', 'pip', 'install', '-q', *spec.packages]]
    for command in steps:
        try:
            result = subprocess.run(command, capture_output=True, text=True,
                                    check=False)
        except OSError as error:
            return None, f'`{" ".join(command)}` failed: {error}'
        if result.returncode != 0:
            return None, (f'`{" ".join(command)}` failed: '
                          + _one_line(result.stderr or result.stdout))
    if not _works(python, spec.probe):
        result = subprocess.run([python, '-c', spec.probe],
                                capture_output=True, text=True, check=False)
        return None, (f'{spec.description} does not import in {venv}: '
                      + _one_line(result.stderr))
    return python, ''
