"""One seed for the run: Python, numpy and (when it is used) TensorFlow."""

import random
import sys
from typing import Optional

import numpy as np

_GLOBAL_SEED: Optional[int] = None


def set_global_seed(seed: Optional[int]) -> None:
    """Seeds Python and numpy now, and Keras when a network first needs it.

    Args:
        seed: The run's seed, or None to leave everything unseeded.
    """
    global _GLOBAL_SEED  # pylint: disable=global-statement
    _GLOBAL_SEED = seed
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed)
    if 'keras' in sys.modules:
        seed_keras()


def global_seed() -> Optional[int]:
    """The seed set by set_global_seed, or None."""
    return _GLOBAL_SEED


def seed_keras() -> None:
    """Seeds Keras/TensorFlow with the global seed, if one is set."""
    if _GLOBAL_SEED is not None:
        import keras  # pylint: disable=import-outside-toplevel
        keras.utils.set_random_seed(_GLOBAL_SEED)


def derive_seed(seed: Optional[int], *indices: int) -> Optional[int]:
    """A distinct, reproducible seed for a sub-component (None stays None).

    Args:
        seed: The parent seed.
        *indices: Position of the sub-component (e.g. env index).

    Returns:
        An int seed, or None when seed is None.
    """
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed, *indices]).generate_state(1)[0])
