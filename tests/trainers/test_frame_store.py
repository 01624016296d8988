"""Tests of alpacka.trainers.frame_store."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import FrameStackObservation

from alpacka import data
from alpacka import errors
from alpacka.trainers import frame_store

K = 4
CARTPOLE_FRAME = data.TensorSignature(shape=(4,), dtype=np.float32)
TINY_FRAME = data.TensorSignature(shape=(2, 3), dtype=np.uint8)


def _tiny_stacks(frame_values):
    """Stacks [T, K, 2, 3] of one episode whose frame t is all frame_values[t],
    padded at the reset like a frame stack wrapper (first frame repeated)."""
    values = np.asarray(frame_values)
    padded = np.concatenate([np.repeat(values[:1], K - 1), values])
    windows = np.lib.stride_tricks.sliding_window_view(padded, K)
    return np.broadcast_to(windows[:, :, None, None],
                           windows.shape + (2, 3)).astype(np.uint8)


def _interleaved_episodes(n_envs, n_steps, seed):
    """Observations of n_envs frame-stacked CartPoles, added to a store
    as several envs would: stretches of 1-5 steps, env by env, in turn.

    Returns:
        (store, ids [N], stacks [N, K, 4], the number of observations).
    """
    rng = np.random.default_rng(seed)
    envs = [FrameStackObservation(gym.make('CartPole-v1'), K)
            for _ in range(n_envs)]
    store = frame_store.FrameStackStore(K, CARTPOLE_FRAME, 10_000, check=True)
    observations = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    previous = [None] * n_envs  # Last added id of each env's episode.
    pending = [[obs] for obs in observations]  # Stacks not added yet.
    all_ids, all_stacks = [], []

    def flush(i):
        stacks = np.stack(pending[i])
        ids = store.add_stretch(previous[i], stacks)
        all_ids.append(ids)
        all_stacks.append(stacks)
        previous[i] = ids[-1]
        pending[i] = []

    for _ in range(n_steps):
        i = int(rng.integers(n_envs))
        for _ in range(int(rng.integers(1, 6))):
            obs, _, terminated, truncated, _ = envs[i].step(
                envs[i].action_space.sample())
            pending[i].append(obs)
            if terminated or truncated:
                flush(i)  # The episode's last stretch, final obs included.
                previous[i] = None
                pending[i] = [envs[i].reset()[0]]
        if pending[i]:
            flush(i)
    return (store, np.concatenate(all_ids), np.concatenate(all_stacks))


def test_stacks_from_the_store_equal_the_envs_stacks():
    store, ids, stacks = _interleaved_episodes(n_envs=3, n_steps=150, seed=0)
    assert len(set(ids.tolist())) == len(ids)
    # Each observation costs one frame: a reset stack of K equal frames too.
    assert store.frames_written == len(ids)
    assert np.all(store.alive(ids))
    got = store.get(ids)
    assert got.shape == (len(ids), K, 4) and got.dtype == np.float32
    np.testing.assert_array_equal(got, stacks)
    # Any order, with repeats, as a replay samples them.
    order = np.random.default_rng(1).integers(0, len(ids), 300)
    np.testing.assert_array_equal(store.get(ids[order]), stacks[order])


def test_a_reset_stack_costs_one_frame_and_other_firsts_their_distinct_frames():
    store = frame_store.FrameStackStore(K, TINY_FRAME, 20)
    reset = _tiny_stacks([7])[0]
    obs_id = store.add_first(reset)
    assert store.frames_written == 1
    np.testing.assert_array_equal(store.get([obs_id])[0], reset)
    # A stream that starts mid-episode: [5, 5, 6, 6] stores 5 once, then 6, 6.
    stream = _tiny_stacks([5, 5, 5, 6, 6])[-1]
    assert stream[:, 0, 0].tolist() == [5, 5, 6, 6]
    obs_id = store.add_first(stream)
    assert store.frames_written == 4
    np.testing.assert_array_equal(store.get([obs_id])[0], stream)
    distinct = _tiny_stacks([1, 2, 3, 4])[-1]
    obs_id = store.add_first(distinct)
    assert store.frames_written == 8
    np.testing.assert_array_equal(store.get([obs_id])[0], distinct)


def test_add_stretch_equals_one_by_one_adds():
    stacks = _tiny_stacks([3, 1, 4, 1, 5, 9, 2])
    one_by_one = frame_store.FrameStackStore(K, TINY_FRAME, 5)
    ids = [one_by_one.add_first(stacks[0])]
    for stack in stacks[1:]:
        ids.append(one_by_one.add_next(ids[-1], stack))
    stretched = frame_store.FrameStackStore(K, TINY_FRAME, 5)
    head = stretched.add_stretch(None, stacks[:3])
    tail = stretched.add_stretch(head[-1], stacks[3:])
    np.testing.assert_array_equal(np.concatenate([head, tail]), ids)
    for got, expected in zip(stretched.state_dict().values(),
                             one_by_one.state_dict().values()):
        np.testing.assert_array_equal(got, expected)
    assert stretched.add_stretch(tail[-1], stacks[:0]).shape == (0,)


def test_wrapping_the_ring_kills_old_ids_and_keeps_new_ones_alive():
    store = frame_store.FrameStackStore(3, TINY_FRAME, capacity_frames=6)
    values = np.arange(8) * 10
    stacks = _tiny_stacks(values)[:, 1:]  # k = 3: frames t-2, t-1, t.
    ids = store.add_stretch(None, stacks)
    np.testing.assert_array_equal(ids, np.arange(8))
    # Frames 2..7 are held; obs t needs frames t-2..t (0 for the reset).
    np.testing.assert_array_equal(
        store.alive(ids), [False, False, False, False, True, True, True, True])
    np.testing.assert_array_equal(store.get(ids[4:]), stacks[4:])
    with pytest.raises(ValueError, match='1 of the 2 observations asked for '
                                         'are not alive'):
        store.get(ids[3:5])
    # Ids not yet written, or negative, are not alive either.
    assert not store.alive(np.array([8, -1])).any()
    # A new episode reuses the slots: the old obs 4 dies (frame 2 is gone).
    new = store.add_stretch(None, _tiny_stacks([200])[:, 1:])
    np.testing.assert_array_equal(store.alive(np.append(ids[4:], new)),
                                  [False, True, True, True, True])
    with pytest.raises(ValueError, match='previous_obs_id 3 is not alive'):
        store.add_next(3, stacks[4])


def test_longer_stretch_than_capacity_keeps_its_newest_stacks():
    store = frame_store.FrameStackStore(2, TINY_FRAME, capacity_frames=4)
    stacks = _tiny_stacks(np.arange(10))[:, 2:]
    ids = store.add_stretch(None, stacks)
    alive = store.alive(ids)
    np.testing.assert_array_equal(alive, [False] * 7 + [True] * 3)
    np.testing.assert_array_equal(store.get(ids[alive]), stacks[alive])


def test_check_catches_observations_that_are_not_frame_stacks():
    store = frame_store.FrameStackStore(K, TINY_FRAME, 20, check=True)
    stacks = _tiny_stacks([1, 2, 3])
    first = store.add_first(stacks[0])
    not_following = _tiny_stacks([9, 8])[1]
    with pytest.raises(ValueError, match='not frame stacks of one episode'):
        store.add_next(first, not_following)
    shuffled = stacks[[0, 2, 1]]
    with pytest.raises(ValueError, match='observation 1 of the stretch'):
        store.add_stretch(None, shuffled)
    with pytest.raises(ValueError, match=r'shaped \[T, 4, 2, 3\]'):
        store.add_stretch(None, stacks[:, :2])
    with pytest.raises(ValueError, match='are float32, the store holds uint8'):
        store.add_stretch(None, stacks.astype(np.float32))
    # Without check, the store trusts the caller.
    unchecked = frame_store.FrameStackStore(K, TINY_FRAME, 20)
    unchecked.add_next(unchecked.add_first(stacks[0]), not_following)


def test_state_round_trip_keeps_ids_and_stacks():
    store, ids, stacks = _interleaved_episodes(n_envs=2, n_steps=40, seed=3)
    state = pickle.loads(pickle.dumps(store.state_dict()))
    assert state['frames'].shape == (len(ids), 4)  # Only the written part.
    restored = frame_store.FrameStackStore(K, CARTPOLE_FRAME, 10_000)
    restored.load_state_dict(state)
    np.testing.assert_array_equal(restored.get(ids), stacks)
    next_stack = np.concatenate([stacks[-1][1:], stacks[-1][:1] + 1])
    assert restored.add_next(ids[-1], next_stack) == \
        store.add_next(ids[-1], next_stack)
    # Into a smaller store: the newest stacks survive, with the same ids.
    small = frame_store.FrameStackStore(K, CARTPOLE_FRAME, 50)
    small.load_state_dict(state)
    alive = small.alive(ids)
    assert alive[-40:].all() and not alive[:len(ids) - 50].any()
    np.testing.assert_array_equal(small.get(ids[alive]), stacks[alive])
    with pytest.raises(ValueError, match='the observations changed'):
        frame_store.FrameStackStore(K, TINY_FRAME, 10).load_state_dict(state)


def test_memory_is_one_frame_and_one_link_per_slot():
    store = frame_store.FrameStackStore(
        K, data.TensorSignature((84, 84), np.uint8), capacity_frames=1000)
    assert store.nbytes_capacity == 1000 * (84 * 84 + 4)
    assert store.nbytes == 0
    frames = np.zeros((300, K, 84, 84), np.uint8)
    store.add_stretch(None, frames)  # The first stack costs one frame.
    assert store.nbytes == 300 * (84 * 84 + 4)
    store.add_stretch(None, np.zeros((2000, K, 84, 84), np.uint8))
    assert store.nbytes == store.nbytes_capacity
    assert frame_store.frames_for(200_000, K) == 202_000 + K
    with pytest.raises(errors.ConfigError,
                       match='A frame store of 1,000,000,000 frames'):
        frame_store.FrameStackStore(
            K, data.TensorSignature((84, 84), np.uint8), 10**9)
    with pytest.raises(ValueError, match='below n_frames'):
        frame_store.FrameStackStore(K, TINY_FRAME, K - 1)


@pytest.mark.parametrize('prioritized', [False, True])
def test_the_trainers_replay_stacks_equal_the_envs(prioritized):
    # pylint: disable=import-outside-toplevel
    from alpacka.trainers import prioritized_replay
    from alpacka.trainers import q_learning
    signature = data.NetworkSignature(
        input=data.TensorSignature((K, 4), np.float32),
        output=data.TensorSignature((2,), np.float32))
    # A replay smaller than the episodes added, so both rings wrap and some
    # sampled transitions have lost frames (and are drawn again).
    trainer = q_learning.QLearningTrainer(
        signature, frame_storage=True, prioritized=prioritized,
        replay_buffer_capacity=200, batch_size=64, seed=0)
    assert isinstance(trainer.replay_buffer,
                      prioritized_replay.PrioritizedReplayBuffer) == prioritized
    env = FrameStackObservation(gym.make('CartPole-v1'), K)
    env.action_space.seed(0)
    seen = set()  # (observation, action, next observation) of every step.
    for seed in range(25):
        observation, _ = env.reset(seed=seed)
        steps = []
        done = False
        while not done:
            action = env.action_space.sample()
            next_observation, reward, terminated, truncated, _ = env.step(action)
            steps.append((observation, action, reward, next_observation,
                          terminated))
            seen.add((observation.tobytes(), int(action),
                      next_observation.tobytes()))
            observation, done = next_observation, terminated or truncated
        observations, actions, rewards, next_observations, terminals = map(
            np.array, zip(*steps))
        trainer.add_episode(data.Episode(data.Transition(
            observations, actions, rewards.astype(np.float32),
            np.zeros(len(steps), bool), next_observations, {}, terminals,
            np.zeros(len(steps), bool)), float(rewards.sum())))
    assert trainer.frame_store.frames_written > \
        trainer.frame_store.capacity_frames
    for _ in range(5):
        batch = trainer.sample_batch(network=None)
        assert batch['observation'].shape == (64, K, 4)
        for observation, action, next_observation in zip(
                batch['observation'], batch['action'],
                batch['next_observation']):
            assert (observation.tobytes(), int(action),
                    next_observation.tobytes()) in seen
