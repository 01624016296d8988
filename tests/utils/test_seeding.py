"""alpacka.utils.seeding: the run's seed and the seeds derived from it."""

import random

import numpy as np
import pytest

from alpacka.utils import seeding


@pytest.fixture(autouse=True, name='unseeded_afterwards')
def fixture_unseeded_afterwards():
    """Leaves the global seed unset for the tests that follow."""
    yield
    seeding.set_global_seed(None)


def test_derived_seeds_are_pinned():
    # Seeded results of every config depend on these values: a change in
    # derive_seed changes every seeded run.
    assert seeding.derive_seed(0, 1) == 3964924996
    assert seeding.derive_seed(0, 0, 5) == 1387925762
    assert seeding.derive_seed(7, 3) == 3466196061


def test_derived_seeds_differ_by_index_and_parent():
    seeds = {seeding.derive_seed(parent, *indices)
             for parent in (0, 1)
             for indices in ((0, 1), (1, 0), (1, 2), (2, 1), (0, 3))}
    assert len(seeds) == 10
    assert all(isinstance(seed, int) and seed >= 0 for seed in seeds)


def test_trailing_zero_indices_do_not_change_the_seed():
    # numpy's SeedSequence drops trailing zero words of its entropy, so
    # (seed, 1) and (seed, 1, 0) derive the same seed. Seeded results rely on
    # today's values; sub-indices that must differ should not differ only by
    # trailing zeros.
    assert seeding.derive_seed(4, 1) == seeding.derive_seed(4, 1, 0)


def test_an_unseeded_run_derives_no_seeds():
    assert seeding.derive_seed(None, 3) is None


def test_set_global_seed_makes_python_and_numpy_repeat():
    seeding.set_global_seed(5)
    first = (random.random(), np.random.rand())
    seeding.set_global_seed(5)
    assert (random.random(), np.random.rand()) == first
    assert seeding.global_seed() == 5


def test_set_global_seed_none_leaves_the_generators_alone():
    seeding.set_global_seed(5)
    state = np.random.get_state()[1].copy()
    seeding.set_global_seed(None)
    assert seeding.global_seed() is None
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_sub_seed_indices_are_pinned():
    # Every seeded run depends on these values (see the seeding docstring).
    assert {name: int(index) for name, index in
            seeding.FromRunSeed.__members__.items()} == {
                'BATCH_STEPPER': 0, 'EVALUATION_STEPPER': 1,
                'SUPERVISED_REPLAY': 7, 'TD_REPLAY': 8, 'SAC_REPLAY': 9,
                'SAC_ACTION_SAMPLING': 10, 'ASYNC_COLLECTORS': 11,
                'Q_REPLAY': 12, 'RECURRENT_Q_REPLAY': 13}
    assert [int(index) for index in seeding.FromStepperSeed] == [0, 1, 2, 3]
    assert int(seeding.FromAgentSeed.SHOOTING_ROLLOUTS) == 1


def test_named_derivations_under_one_parent_never_collide():
    # The batch stepper's seed takes the first epoch as a further index.
    run_seeds = [seeding.derive_seed(3, seeding.FromRunSeed.BATCH_STEPPER,
                                     epoch) for epoch in range(20)]
    run_seeds += [seeding.derive_seed(3, index) for index in
                  seeding.FromRunSeed if index != seeding.FromRunSeed.BATCH_STEPPER]
    assert len(set(run_seeds)) == len(run_seeds)
    env_seeds = [seeding.derive_seed(3, env_index, index)
                 for env_index in range(16) for index in seeding.FromStepperSeed]
    assert len(set(env_seeds)) == len(env_seeds)
