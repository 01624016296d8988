"""Tests for step-based collection (BatchStepper.run_steps), Local and Ray."""

import functools

import numpy as np
import pytest

from alpacka import agents
from alpacka import batch_steppers
from alpacka import data
from alpacka import envs
from alpacka import networks


class _StepCountingAgent(agents.RandomAgent):
    """A RandomAgent that records ``env_steps`` as each step sees it."""

    def act(self, observation):
        action, _ = super().act(observation)
        return action, {'env_steps': -1 if self.env_steps is None
                        else self.env_steps}


class _RewritingAgent(agents.RandomAgent):
    def postprocess_transitions(self, transitions):
        return transitions


class _WholeEpisodeAgent(agents.RandomAgent):
    def solve(self, env, epoch=None, init_state=None, time_limit=None):
        return (yield from super().solve(env, epoch, init_state, time_limit))


def _stepper(stepper_class=batch_steppers.LocalBatchStepper, n_envs=3,
             agent_class=agents.RandomAgent, seed=0):
    return stepper_class(
        env_class=envs.CartPole, agent_class=agent_class,
        network_fn=networks.DummyNetwork, n_envs=n_envs, seed=seed)


def _concatenate(batches):
    return data.nested_concatenate(list(batches))


def _collect(stepper, n_calls, n_steps, time_limit=None):
    """Runs n_calls run_steps calls; returns the StepBatches."""
    return [stepper.run_steps(None, n_steps, epoch=0, time_limit=time_limit,
                              env_steps=call * n_steps * stepper.n_envs)
            for call in range(n_calls)]


def test_each_call_takes_n_steps_per_env_and_episodes_run_on():
    stepper = _stepper(n_envs=3)
    step_batches = _collect(stepper, n_calls=20, n_steps=7)
    for step_batch in step_batches:
        assert step_batch.n_steps == 21
        assert sum(len(batch.reward) for batch in
                   step_batch.transition_batches) == 21
    episodes = [episode for batch in step_batches for episode in batch.episodes]
    # 420 random CartPole steps end episodes (about 22 steps long) in every
    # call's 7 steps only sometimes: most episodes span several calls.
    assert len(episodes) >= 10
    assert max(len(episode) for episode in episodes) > 7
    for episode in episodes:
        batch = episode.transition_batch
        assert batch.terminated[-1] and not batch.terminated[:-1].any()
        # Consecutive steps chain, across calls too.
        np.testing.assert_array_equal(batch.observation[1:],
                                      batch.next_observation[:-1])
        assert episode.return_ == pytest.approx(batch.reward.sum())
    stepper.close()


def test_fragments_add_up_to_the_ended_episodes():
    stepper = _stepper(n_envs=1)
    step_batches = _collect(stepper, n_calls=30, n_steps=5)
    fragments = [batch for step_batch in step_batches
                 for batch in step_batch.transition_batches]
    ended = [episode for step_batch in step_batches
             for episode in step_batch.episodes]
    stream = _concatenate(fragments)
    whole = _concatenate([episode.transition_batch for episode in ended])
    # With one env the fragments, in order, are the episodes, in order, then
    # the unfinished one.
    n_ended = len(whole.reward)
    for field in ('observation', 'action', 'reward', 'next_observation',
                  'terminated', 'truncated', 'done'):
        np.testing.assert_array_equal(getattr(stream, field)[:n_ended],
                                      getattr(whole, field))
    assert not stream.done[n_ended:].any()
    stepper.close()


def test_time_limit_truncates_and_only_the_last_step():
    stepper = _stepper(n_envs=2)
    agent_policy_free = _collect(stepper, n_calls=10, n_steps=4, time_limit=6)
    episodes = [episode for batch in agent_policy_free
                for episode in batch.episodes]
    assert len(episodes) >= 4
    for episode in episodes:
        assert len(episode) <= 6
        batch = episode.transition_batch
        if len(episode) == 6 and not batch.terminated[-1]:
            assert episode.truncated
            np.testing.assert_array_equal(batch.truncated,
                                          [False] * 5 + [True])
    assert any(episode.truncated for episode in episodes)
    stepper.close()


def test_agents_see_the_runs_env_steps():
    stepper = _stepper(n_envs=2, agent_class=_StepCountingAgent)
    step_batch = stepper.run_steps(None, 3, env_steps=100)
    seen = sorted(np.concatenate([batch.agent_info['env_steps'] for batch
                                  in step_batch.transition_batches]).tolist())
    # Two envs, three rounds: the count at the call's start, then +2 a round.
    assert seen == [100, 100, 102, 102, 104, 104]
    stepper.close()


def test_whole_episode_agents_are_refused_clearly():
    stepper = _stepper(agent_class=_WholeEpisodeAgent)
    with pytest.raises(TypeError, match='_WholeEpisodeAgent plays whole'):
        stepper.run_steps(None, 1)
    stepper.close()
    stepper = _stepper(agent_class=_RewritingAgent)
    with pytest.raises(TypeError, match='postprocess_transitions'):
        stepper.run_steps(None, 1)
    stepper.close()


def test_seeded_steps_are_reproducible():
    first, second = (_collect(_stepper(seed=3), n_calls=5, n_steps=6)
                     for _ in range(2))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(
            _concatenate(a.transition_batches).observation,
            _concatenate(b.transition_batches).observation)


@pytest.mark.usefixtures('ray_cluster')
def test_ray_steps_match_local_steps():
    local = _stepper(n_envs=4, seed=5, agent_class=_StepCountingAgent)
    remote = _stepper(functools.partial(batch_steppers.RayBatchStepper,
                                        n_workers=2), n_envs=4, seed=5,
                      agent_class=_StepCountingAgent)
    try:
        for local_batch, remote_batch in zip(
                _collect(local, n_calls=6, n_steps=5),
                _collect(remote, n_calls=6, n_steps=5)):
            assert remote_batch.n_steps == local_batch.n_steps == 20
            assert ([len(episode) for episode in remote_batch.episodes] ==
                    [len(episode) for episode in local_batch.episodes])
            local_stream = _concatenate(local_batch.transition_batches)
            remote_stream = _concatenate(remote_batch.transition_batches)
            assert remote_stream.observation.flags.writeable
            for field in ('observation', 'env_steps'):
                remote_values, local_values = (
                    np.sort(stream.observation if field == 'observation'
                            else stream.agent_info['env_steps'], axis=0)
                    for stream in (remote_stream, local_stream))
                np.testing.assert_array_equal(remote_values, local_values)
    finally:
        local.close()
        remote.close()
