"""Replay memory per transition for Atari: FrameStackStore against full stacks.

A DQN replay of Breakout transitions keeps, per transition, the observation
and the next observation (stacks of 4 grey 84x84 frames), the action, the
reward and the discount. Stored naively, that is 2 * 4 * 7056 bytes of
pixels per transition. With ``alpacka.trainers.frame_store.FrameStackStore``
the replay keeps two int64 observation ids instead, and the store keeps each
frame once (plus an int64 link): about one frame per transition.

The script plays ``--real-steps`` steps of real ale-py Breakout (uniformly
random actions) through ``alpacka.envs.AtariEnv`` (the Nature preprocessing:
frame skip 4, 84x84 grey, up to 30 no-op starts) and ``alpacka.envs.FrameStack``
(4 frames, the first repeated at a reset), then fills a replay of ``--transitions``
transitions by replaying those episodes over and over, added as a trainer
would: stretches of ``--stretch`` steps of one episode at a time, each
stretch's stacks into the store and its transitions (obs id, next obs id,
action, reward, discount) into a ``UniformReplayBuffer``. It adds a quarter
more than the capacity, so both rings wrap, and then reports:

* bytes per stored transition, from the arrays' ``nbytes`` and from the
  growth of the process's resident memory (RSS) while they filled, and the
  extrapolation to 1,000,000 transitions (the issue's goal: at most 7.2 KB
  per transition, at most 8 GB for a million);
* the fraction of the replay's transitions whose stacks are still whole
  (``alive``; the trainer resamples the others) for the frame slack given;
* the cost of a batch of 32 observation and next-observation stacks (the
  store's ``get`` against a plain ``take`` of full stacks);
* the same figures for a naive replay of full stacks, filled with
  ``--naive-transitions`` (fewer by default: 200,000 of them need 11 GB).

Usage:
    python benchmarks/replay_memory.py [--transitions 200000]
        [--naive-transitions 20000] [--real-steps 3000]
"""

import argparse
import gc
import time
from typing import Dict, List, Tuple

import numpy as np

from alpacka import data
from alpacka import envs
from alpacka.trainers import frame_store
from alpacka.trainers import prioritized_replay
from alpacka.trainers import replay_buffers

N_FRAMES = 4
FRAME = data.TensorSignature(shape=(84, 84), dtype=np.uint8)
SCALARS = {
    'action': data.TensorSignature(shape=(), dtype=np.int64),
    'reward': data.TensorSignature(shape=(), dtype=np.float32),
    'discount': data.TensorSignature(shape=(), dtype=np.float32),
}
ID_FIELDS = {
    'observation_id': data.TensorSignature(shape=(), dtype=np.int64),
    'next_observation_id': data.TensorSignature(shape=(), dtype=np.int64),
}
STACK = data.TensorSignature(shape=(N_FRAMES, 84, 84), dtype=np.uint8)
NAIVE_FIELDS = {'observation': STACK, 'next_observation': STACK}
GOAL_BYTES = 7.2e3  # Per transition (one 84x84 uint8 frame, with room).
MILLION = 1_000_000


class Episode:
    """One recorded episode: stacks [T + 1, 4, 84, 84] and actions,
    rewards, discounts [T] (discount 0 after termination, 1 otherwise)."""

    def __init__(self, stacks, actions, rewards, discounts):
        self.stacks = np.asarray(stacks)
        self.actions = np.asarray(actions, np.int64)
        self.rewards = np.asarray(rewards, np.float32)
        self.discounts = np.asarray(discounts, np.float32)

    def __len__(self) -> int:
        return len(self.actions)


def record_breakout(n_steps: int, seed: int) -> Tuple[List[Episode], float]:
    """Plays random Breakout; returns the episodes and the env steps per second.

    The last, unfinished episode is kept too (truncated there).
    """
    env = envs.FrameStack(envs.AtariEnv, n_frames=N_FRAMES, game='Breakout')
    env.action_space.seed(seed)
    episodes = []
    start = time.perf_counter()
    observation, _ = env.reset(seed=seed)
    stacks, actions, rewards, discounts = [observation], [], [], []
    for step in range(n_steps):
        action = env.action_space.sample()
        observation, reward, terminated, truncated, _ = env.step(action)
        stacks.append(observation)
        actions.append(action)
        rewards.append(reward)
        discounts.append(0.0 if terminated else 1.0)
        if terminated or truncated or step == n_steps - 1:
            episodes.append(Episode(stacks, actions, rewards, discounts))
            observation, _ = env.reset()
            stacks, actions, rewards, discounts = [observation], [], [], []
    rate = n_steps / (time.perf_counter() - start)
    env.close()
    return episodes, rate


def rss_bytes() -> int:
    """The process's resident memory (Linux /proc)."""
    with open('/proc/self/status', encoding='ascii') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    raise RuntimeError('No VmRSS in /proc/self/status (not Linux?).')


def _stretches(episodes: List[Episode], n_transitions: int, stretch: int):
    """Yields (episode, start, end) pieces of the recorded episodes, cycled,
    until n_transitions transitions [start, end) have been yielded."""
    done = 0
    while True:
        for episode in episodes:
            for start in range(0, len(episode), stretch):
                end = min(start + stretch, len(episode), start +
                          n_transitions - done)
                yield episode, start, end
                done += end - start
                if done == n_transitions:
                    return


def fill_deduplicated(episodes: List[Episode], capacity: int, slack: float,
                      stretch: int) -> Dict[str, float]:
    """Fills a FrameStackStore and a replay of ids; returns the figures."""
    gc.collect()
    rss_before = rss_bytes()
    # With the default slack, frame_store.frames_for(capacity, N_FRAMES).
    store = frame_store.FrameStackStore(
        N_FRAMES, FRAME,
        capacity_frames=int(np.ceil(capacity * (1 + slack))) + N_FRAMES)
    replay = replay_buffers.UniformReplayBuffer(
        {**ID_FIELDS, **SCALARS}, capacity=capacity, seed=0)
    start_time = time.perf_counter()
    previous_id = None
    for episode, start, end in _stretches(episodes, capacity * 5 // 4,
                                          stretch):
        if start == 0:
            ids = store.add_stretch(None, episode.stacks[:end + 1])
        else:
            ids = np.concatenate([[previous_id], store.add_stretch(
                previous_id, episode.stacks[start + 1:end + 1])])
        previous_id = ids[-1]
        replay.add({'observation_id': ids[:-1], 'next_observation_id': ids[1:],
                    'action': episode.actions[start:end],
                    'reward': episode.rewards[start:end],
                    'discount': episode.discounts[start:end]})
    fill_s = time.perf_counter() - start_time
    rss_growth = rss_bytes() - rss_before

    held = replay.gather(np.arange(len(replay)))
    alive = store.alive(held['observation_id']) & \
        store.alive(held['next_observation_id'])
    replay_nbytes = sum(array.nbytes for array in held.values())

    def sample():
        batch = replay.sample(32)
        ids = np.concatenate([batch['observation_id'],
                              batch['next_observation_id']])
        ids = ids[store.alive(ids)]
        return store.get(ids)

    return {'nbytes': store.nbytes_capacity + replay_nbytes,
            'rss': rss_growth, 'store_nbytes': store.nbytes_capacity, 'alive': float(alive.mean()),
            'fill_s': fill_s, 'sample_us': _time_us(sample)}


def fill_naive(episodes: List[Episode], capacity: int,
               stretch: int) -> Dict[str, float]:
    """Fills a replay of full stacks; returns the figures."""
    gc.collect()
    rss_before = rss_bytes()
    replay = replay_buffers.UniformReplayBuffer(
        {**NAIVE_FIELDS, **SCALARS}, capacity=capacity, seed=0)
    start_time = time.perf_counter()
    for episode, start, end in _stretches(episodes, capacity * 5 // 4,
                                          stretch):
        replay.add({'observation': episode.stacks[start:end],
                    'next_observation': episode.stacks[start + 1:end + 1],
                    'action': episode.actions[start:end],
                    'reward': episode.rewards[start:end],
                    'discount': episode.discounts[start:end]})
    fill_s = time.perf_counter() - start_time
    rss_growth = rss_bytes() - rss_before
    nbytes = sum(array.nbytes for array in replay.state_dict()['storage'])

    def sample():
        batch = replay.sample(32)
        return batch['observation'], batch['next_observation']

    return {'nbytes': nbytes, 'rss': rss_growth, 'fill_s': fill_s,
            'sample_us': _time_us(sample)}


def _time_us(fn, repeats: int = 300) -> float:
    for _ in range(20):
        fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1e6


def _report(name: str, capacity: int, figures: Dict[str, float]) -> None:
    per_nbytes = figures['nbytes'] / capacity
    per_rss = figures['rss'] / capacity
    print(f'{name}: {capacity} transitions, filled with {capacity * 5 // 4} '
          f'in {figures["fill_s"]:.1f} s')
    print(f'  per transition: {per_nbytes:8.0f} B (nbytes), {per_rss:8.0f} B '
          f'(RSS growth)')
    print(f'  1,000,000 transitions: {per_nbytes * MILLION / 1e9:6.2f} GB '
          f'(nbytes), {per_rss * MILLION / 1e9:6.2f} GB (RSS growth)')
    print(f'  a batch of 32 obs + next obs stacks: '
          f'{figures["sample_us"]:.0f} us')


def main() -> None:
    """Parses the flags, measures, prints."""
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--transitions', type=int, default=200_000,
                        help='replay capacity of the deduplicated replay')
    parser.add_argument('--naive-transitions', type=int, default=20_000,
                        help='replay capacity of the full-stack replay')
    parser.add_argument('--real-steps', type=int, default=3000,
                        help='Breakout env steps recorded, then reused')
    parser.add_argument('--slack', type=float,
                        default=frame_store.FRAME_SLACK,
                        help='frames held = transitions * (1 + slack) + 4')
    parser.add_argument('--stretch', type=int, default=32,
                        help='transitions per added stretch')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    episodes, rate = record_breakout(args.real_steps, args.seed)
    lengths = [len(episode) for episode in episodes]
    print(f'Recorded {args.real_steps} steps of random Breakout '
          f'(AtariEnv 84x84 grey, frame skip 4, FrameStack 4) at '
          f'{rate:.0f} steps/s: {len(episodes)} episodes, mean length '
          f'{np.mean(lengths):.0f} steps.\n')

    dedup = fill_deduplicated(episodes, args.transitions, args.slack,
                              args.stretch)
    _report('FrameStackStore + replay of ids', args.transitions, dedup)
    print(f'  the store: {dedup["store_nbytes"] / args.transitions:.0f} B '
          f'per transition ({args.slack:.1%} frame slack); transitions whose '
          f'stacks are whole: {dedup["alive"]:.2%}')
    tree_bytes = prioritized_replay.SumTree(args.transitions).nbytes
    print(f'  prioritized replay adds its trees: '
          f'{tree_bytes / args.transitions:.0f} B per transition')
    verdict = 'meets' if dedup['nbytes'] / args.transitions <= GOAL_BYTES and \
        dedup['rss'] / args.transitions <= GOAL_BYTES else 'MISSES'
    print(f'  {verdict} the goal of at most {GOAL_BYTES:.0f} B per transition '
          f'({GOAL_BYTES * MILLION / 1e9:.1f} GB for 1M)\n')
    del dedup
    if args.naive_transitions:
        naive = fill_naive(episodes, args.naive_transitions, args.stretch)
        _report('Naive replay of full stacks', args.naive_transitions, naive)


if __name__ == '__main__':
    main()
