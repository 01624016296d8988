"""The rate limiter's contract and the prefetcher that streams under it."""

import threading

import numpy as np
import pytest

from alpacka import errors
from alpacka.runner import batch_prefetch
from alpacka.runner import rate_limiter


def test_the_learner_waits_for_the_warm_up_then_keeps_the_ratio():
    # r = 0.5 updates per step, m = 10 steps, t = 2 updates.
    limiter = rate_limiter.RateLimiter(0.5, min_size=10, tolerance=2)
    limiter.record_insert(9)
    assert not limiter.can_update()  # Not warm.
    limiter.record_insert(1)
    # Warm, owed 0.5 * (10 - 10) = 0: updates 1 and 2 are within t = 2.
    assert limiter.take_update(timeout=0) and limiter.take_update(timeout=0)
    assert not limiter.can_update()  # A third would be 3 > 0 + 2.
    assert not limiter.take_update(timeout=0.01)
    limiter.record_insert(2)  # Owed 1: one more.
    assert limiter.take_update(timeout=0)
    assert not limiter.can_update()
    assert limiter.updates == 3 and limiter.inserted == 12


def test_collectors_are_held_when_the_data_runs_ahead():
    limiter = rate_limiter.RateLimiter(1.0, min_size=4, tolerance=5)
    # Warming up: a chunk that ends within the min size is always allowed.
    assert limiter.can_insert(in_flight=0, chunk_steps=4)
    limiter.record_insert(4)
    # Owed after a chunk of 4: 4 updates, 0 taken: 4 <= 5.
    assert limiter.can_insert(in_flight=0, chunk_steps=4)
    # With one chunk in flight: owed 8 > 5.
    assert not limiter.can_insert(in_flight=4, chunk_steps=4)
    for _ in range(3):
        assert limiter.take_update(timeout=0)
    assert limiter.can_insert(in_flight=4, chunk_steps=4)  # 8 - 3 = 5.


@pytest.mark.parametrize('ratio, tolerance, chunk', [
    (1.0, 2.5, 4), (4.0, 10.5, 5), (0.25, 1.0, 4), (2.0, 7.0, 3)])
def test_a_feasible_setting_never_deadlocks_and_holds_the_ratio(
        ratio, tolerance, chunk):
    rate_limiter.check_feasible(ratio, tolerance, chunk)
    limiter = rate_limiter.RateLimiter(ratio, min_size=chunk, tolerance=tolerance)
    rng = np.random.default_rng(0)
    in_flight = 0
    for _ in range(3000):
        can_start = limiter.can_insert(in_flight, chunk)
        can_land = in_flight > 0
        can_update = limiter.can_update()
        assert can_start or can_land or can_update, 'deadlock'
        move = rng.choice([name for name, ok in (
            ('start', can_start), ('land', can_land),
            ('update', can_update)) if ok])
        if move == 'start':
            in_flight += chunk
        elif move == 'land':
            in_flight -= chunk
            limiter.record_insert(chunk)
        else:
            assert limiter.take_update(timeout=0)
        owed = ratio * max(0, limiter.inserted - chunk)
        # Learner ahead by at most t; data (landed) ahead by at most t plus
        # what is in flight cannot exceed the submission bound either.
        assert limiter.updates - owed <= tolerance
        assert owed - limiter.updates <= tolerance


def test_a_tolerance_that_could_deadlock_is_refused_with_the_bound():
    with pytest.raises(errors.ConfigError) as info:
        rate_limiter.check_feasible(4.0, 10.0, 5)  # Needs (4 * 5 + 1) / 2.
    message = str(info.value)
    assert 'AsyncTraining.rate_tolerance = 10.0' in message
    assert 'at least 10.5' in message
    with pytest.raises(errors.ConfigError, match='must be positive'):
        rate_limiter.check_feasible(0.0, 10.0, 5)


def test_close_releases_a_waiting_learner():
    limiter = rate_limiter.RateLimiter(1.0, min_size=10, tolerance=2)
    results = []
    waiter = threading.Thread(
        target=lambda: results.append(limiter.take_update()))
    waiter.start()
    limiter.close()
    waiter.join(timeout=5)
    assert results == [False]


@pytest.mark.parametrize('threaded', [True, False])
def test_the_prefetcher_samples_one_batch_per_allowed_update(threaded):
    limiter = rate_limiter.RateLimiter(1.0, min_size=0, tolerance=1)
    sampled = []
    lock = threading.Lock()

    def sample():
        assert lock.locked()  # Sampled under the replay's lock.
        sampled.append(len(sampled))
        return sampled[-1]
    prefetcher = batch_prefetch.BatchPrefetcher(sample, limiter, lock,
                                                depth=2, threaded=threaded)
    try:
        limiter.record_insert(3)  # Owed 3, tolerance 1: 4 updates.
        stream = prefetcher.stream(10, keep_waiting=lambda: limiter.updates < 4)
        assert list(stream()) == [0, 1, 2, 3]
        assert limiter.updates == 4 and sampled == [0, 1, 2, 3]
        # The limiter held the consumer at the end, and that is counted.
        assert prefetcher.rate_limited_s > 0
    finally:
        prefetcher.close()


def test_a_sampling_error_reaches_the_learner():
    limiter = rate_limiter.RateLimiter(1.0, min_size=0, tolerance=1)
    limiter.record_insert(1)

    def sample():
        raise ValueError('replay broken')
    prefetcher = batch_prefetch.BatchPrefetcher(sample, limiter,
                                                threading.Lock())
    try:
        with pytest.raises(ValueError, match='replay broken'):
            prefetcher.next_batch(keep_waiting=lambda: True)
    finally:
        prefetcher.close()
