"""The Stable-Baselines3 side of benchmarks/sac_pendulum.py (not Alpacka code).

A thin wrapper of sb3_peer.py that keeps this script's command line: SAC on
Pendulum-v1 with Stable-Baselines3's tuned settings, torch's threads left as
they are unless --threads is given, and no final ``done`` line. Runs in the
'sb3' virtualenv (peer_venvs.py).

Usage:
    python sb3_sac.py learn --seed 0 --steps 5000 [--eval_every 500]
        [--eval_episodes 10]
    python sb3_sac.py updates --n_updates 1000 [--fill 2000]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sb3_peer  # pylint: disable=wrong-import-position

if __name__ == '__main__':
    sb3_peer.main(sys.argv[1:], legacy=True)
