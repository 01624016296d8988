"""An env for test_curriculum_runs.py that records the params of its episodes.

Ray workers unpickle it by module name, so it lives in a module of its own
(reached by workers through the driver's sys.path).
"""

import json
import os
import uuid

import gin

from alpacka import envs

PARAMS = ('force_mag', 'gravity')


@gin.configurable
class RecordingCartPole(envs.CartPole):
    """CartPole writing one JSON line per episode to its own file.

    Each line holds the env's own step count before the episode's first step
    (in synchronous runs envs step in lock-step, so that maps to the global
    env step), the global env step the CurriculumWrapper passed on
    (``on_episode_start``), the params at the first step, and whether they
    ever changed during the episode (written when the next episode starts or
    the env closes).

    Args:
        record_dir: Where each env writes ``<uuid>.jsonl``.
    """

    def __init__(self, record_dir):
        super().__init__()
        self._path = os.path.join(record_dir, f'{uuid.uuid4().hex}.jsonl')
        self._n_steps = 0
        self._episode = None
        self._told_env_steps = None

    def _params(self):
        return {name: getattr(self, name) for name in PARAMS}

    def on_episode_start(self, env_steps):
        """Remembers the global env step the wrapper was told."""
        self._told_env_steps = env_steps

    def reset(self, **kwargs):
        self._flush()
        return super().reset(**kwargs)

    def step(self, action):
        if self._episode is None:
            self._episode = {'start': self._n_steps,
                             'env_steps': self._told_env_steps,
                             'params': self._params(), 'changed': False}
        elif self._params() != self._episode['params']:
            self._episode['changed'] = True
        self._n_steps += 1
        return super().step(action)

    def _flush(self):
        if self._episode is not None:
            with open(self._path, 'a', encoding='utf-8') as record:
                record.write(json.dumps(self._episode) + '\n')
            self._episode = None

    def close(self):
        self._flush()
        super().close()


def read_episodes(record_dir):
    """Every env's recorded episodes: ``{file name: [episode, ...]}``."""
    episodes = {}
    for name in sorted(os.listdir(record_dir)):
        with open(os.path.join(record_dir, name), encoding='utf-8') as record:
            episodes[name] = [json.loads(line) for line in record]
    return episodes
