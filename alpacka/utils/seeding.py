"""One seed for the run: Python, numpy and (when it is used) TensorFlow.

Every seeded component draws from a seed derived from its parent's
(``derive_seed(parent, *indices)``). The sub-indices are named here, in one
place, grouped by the parent seed they are derived from. Their values are
part of the reproducibility contract: changing one changes every seeded run
that uses it, so a new component takes a new, unused index.
"""

import enum
import random
import sys
from typing import Optional

import numpy as np

_GLOBAL_SEED: Optional[int] = None


@enum.unique
class FromRunSeed(enum.IntEnum):
    """Sub-indices under the run's seed (``Runner.seed``, global_seed())."""
    # derive_seed(run_seed, BATCH_STEPPER, first_epoch): the Runner's batch
    # stepper, by the first epoch it plays (a resumed run plays fresh episodes).
    BATCH_STEPPER = 0
    # The EvaluationCallback's batch stepper.
    EVALUATION_STEPPER = 1
    # Replay sampling of each replay-owning trainer.
    SUPERVISED_REPLAY = 7
    TD_REPLAY = 8
    SAC_REPLAY = 9
    # SoftActorCriticNetwork's action sampling (when its own seed is unset).
    SAC_ACTION_SAMPLING = 10
    # derive_seed(run_seed, ASYNC_COLLECTORS, first_epoch + 1): the
    # asynchronous pipeline's collectors (see RayCollectors for theirs).
    ASYNC_COLLECTORS = 11
    # QLearningTrainer's replay sampling.
    Q_REPLAY = 12
    # RecurrentQLearningTrainer's replay sampling.
    RECURRENT_Q_REPLAY = 13


@enum.unique
class FromStepperSeed(enum.IntEnum):
    """Sub-indices under a batch stepper's seed, after the env's index i.

    ``derive_seed(stepper_seed, i, ENV_RESET)`` seeds env i's first reset, and
    so on; envs are numbered across the whole batch, so a Ray worker running a
    slice of the envs seeds them as a local stepper does.
    """
    ENV_RESET = 0
    ACTION_SPACE = 1
    AGENT = 2
    # The seed of the Ray worker whose first env is env i.
    RAY_WORKER = 3


@enum.unique
class FromAgentSeed(enum.IntEnum):
    """Sub-indices under an agent's own seed (``Agent.seed``)."""
    # ShootingAgent's rollouts (their envs and rollout agents).
    SHOOTING_ROLLOUTS = 1


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
