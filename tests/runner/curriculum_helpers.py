"""Envs for test_curriculum_runs.py that record the params of their episodes.

Ray workers unpickle them by module name, so they live in a module of their
own (reached by workers through the driver's sys.path).
"""

import json
import os
import uuid

import gin

from alpacka import envs


# A mixin: super() is the env class it is mixed into.
# pylint: disable=no-member
class EpisodeRecorder:
    """Mixin for an env: writes one JSON line per episode to its own file.

    Each line holds the env's own step count before the episode's first step
    (in synchronous runs envs step in lock-step, so that maps to the global
    env step), the global env step the CurriculumWrapper passed on
    (``on_episode_start``), the process id, the params (``PARAMS``) at the
    first step, and whether they ever changed during the episode (written
    when the next episode starts or the env closes).

    Args:
        record_dir: Where each env writes ``<uuid>.jsonl``.
    """

    PARAMS = ()

    def __init__(self, record_dir, **kwargs):
        super().__init__(**kwargs)
        self._path = os.path.join(record_dir, f'{uuid.uuid4().hex}.jsonl')
        self._n_steps = 0
        self._episode = None
        self._told_env_steps = None

    def _params(self):
        return {name: getattr(self, name) for name in self.PARAMS}

    def on_episode_start(self, env_steps):
        """Remembers the global env step the wrapper was told."""
        self._told_env_steps = env_steps

    def reset(self, **kwargs):
        """Writes out the episode that ends, then resets."""
        self._flush()
        return super().reset(**kwargs)

    def step(self, action):
        """Notes the params at the episode's first step, or any change."""
        if self._episode is None:
            self._episode = {'start': self._n_steps,
                             'env_steps': self._told_env_steps,
                             'pid': os.getpid(),
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
        """Writes out the episode under way, then closes."""
        self._flush()
        super().close()


@gin.configurable
class RecordingCartPole(EpisodeRecorder, envs.CartPole):
    """CartPole recording its force_mag and gravity per episode."""

    PARAMS = ('force_mag', 'gravity')


@gin.configurable
class RecordingPendulum(EpisodeRecorder, envs.Pendulum):
    """Pendulum recording its g per episode."""

    PARAMS = ('g',)


def read_episodes(record_dir):
    """Every env's recorded episodes: ``{file name: [episode, ...]}``."""
    episodes = {}
    for name in sorted(os.listdir(record_dir)):
        with open(os.path.join(record_dir, name), encoding='utf-8') as record:
            episodes[name] = [json.loads(line) for line in record]
    return episodes
