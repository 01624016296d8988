"""What the asynchronous-training tests share: a small config, replay checks,
and finding (and ending) the Ray processes of a run in a subprocess."""

import os
import pickle
import signal

import numpy as np
import psutil

from alpacka.runner import checkpointing

# sac_pendulum_async.gin, shrunk: 2 envs per collector, chunks of 2 x 10
# steps, 100-step epochs; tiny networks; 1 update per step after 40 steps.
SMALL_ASYNC_RUN = [
    'Runner.n_envs = 2', 'Runner.episode_time_limit = 30',
    'Runner.env_steps_per_epoch = 100', 'Runner.callback_classes = []',
    'AsyncTraining.steps_per_chunk = 10', 'AsyncTraining.broadcast_every = 5',
    'AsyncTraining.learner_cpus = None',
    'SoftActorCriticAgent.n_random_steps = 20',
    'SoftActorCriticNetwork.hidden_sizes = (16,)',
    'SoftActorCriticTrainer.batch_size = 16',
    'SoftActorCriticTrainer.min_replay_size = 40',
    'SoftActorCriticTrainer.updates_per_step = 1.0']


def replay_rows(replay_state):
    """The replay's datapoints as rows [size, features] (every leaf
    flattened), from a UniformReplayBuffer.state_dict()."""
    size = replay_state['size']
    return np.concatenate([np.asarray(leaf[:size], np.float64).reshape(size, -1)
                           for leaf in replay_state['storage']], axis=1)


def assert_no_transition_twice(replay_state):
    """Each (observation, action, reward, next observation) appears once:
    a chunk inserted twice would repeat all of its rows."""
    rows = replay_rows(replay_state)
    assert len(np.unique(rows, axis=0)) == len(rows)


def checkpointed_state(output_dir):
    """(runner state, trainer state) of the run's latest checkpoint."""
    checkpoint_dir = checkpointing.Checkpointer(str(output_dir)).latest()
    with open(os.path.join(checkpoint_dir, 'runner.json'),
              encoding='utf-8') as runner_file:
        import json  # pylint: disable=import-outside-toplevel
        runner_state = json.load(runner_file)
    with open(os.path.join(checkpoint_dir, 'trainer.ckpt'), 'rb') as trainer_file:
        trainer_state = pickle.load(trainer_file)
    return runner_state, trainer_state


def processes_mentioning(text):
    """Live processes whose command line contains text."""
    found = []
    for process in psutil.process_iter(['cmdline']):
        try:
            if any(text in part for part in process.info['cmdline'] or ()):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def kill_processes_mentioning(text):
    """SIGKILLs what processes_mentioning(text) finds (test clean-up)."""
    for process in processes_mentioning(text):
        try:
            os.kill(process.pid, signal.SIGKILL)
        except OSError:
            pass
