"""Alias of alpacka.utils.gin_bindings, where turning experiment parameters
into Gin bindings now lives (below the runner, whose spec loading uses it).
The alias is the same module object."""

import sys

from alpacka.utils import gin_bindings

sys.modules[__name__] = gin_bindings
