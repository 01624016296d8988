"""The Runner (the epoch loop) and its command line, ``python3 -m alpacka.runner``."""

from alpacka.runner.callbacks import Callback
from alpacka.runner.cli import main
from alpacka.runner.core import Runner

__all__ = ['Callback', 'Runner', 'main']
