"""Alias of alpacka.runner.specs, where loading mrunner specs now lives (the
command line's ``--mrunner`` needs it, and the runner sits below
experiments). The alias is the same module object, so old imports, old
pickles of Experiment and monkeypatching all keep working."""

import sys

from alpacka.runner import specs

sys.modules[__name__] = specs
