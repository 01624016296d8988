"""Helpers for gymnasium spaces: signatures, action counts, fast sampling.

Moved here from alpacka.utils.spaces: utils holds no RL, and these read
environments' spaces and name their data signatures.
"""

import gymnasium
import numpy as np

from alpacka.data import TensorSignature


def signature(space: gymnasium.Space) -> TensorSignature:
    """The TensorSignature of one element of a Box or Discrete space."""
    if isinstance(space, gymnasium.spaces.Discrete):
        return TensorSignature(shape=(), dtype=np.int64)
    if isinstance(space, gymnasium.spaces.Box):
        return TensorSignature(shape=space.shape, dtype=space.dtype)
    raise TypeError(f'Unsupported space {space}: expected Box or Discrete.')


def n_actions(space: gymnasium.Space) -> int:
    """Number of actions of a Discrete space, with a clear error otherwise."""
    if not isinstance(space, gymnasium.spaces.Discrete):
        raise TypeError(f'This agent needs a Discrete action space, got '
                        f'{space}.')
    return int(space.n)


class DiscreteSampler:
    """Draws uniform actions from a Discrete space, in blocks for speed.

    ``space.sample()`` costs several microseconds per call; drawing a block of
    integers at once makes a random action cost a list pop.

    Args:
        space: The action space.
        rng: The numpy Generator to draw from.
        block_size: Actions drawn per refill.
    """

    def __init__(self, space: gymnasium.spaces.Discrete,
                 rng: np.random.Generator, block_size: int = 1024):
        self._low = int(space.start)
        self._high = int(space.start + space.n)
        self._rng = rng
        self._block_size = block_size
        self._block = []

    def sample(self) -> int:
        """One uniformly random action."""
        if not self._block:
            self._block = self._rng.integers(
                self._low, self._high, size=self._block_size).tolist()
        return self._block.pop()
