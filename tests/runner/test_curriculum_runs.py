"""Runs with Runner.curriculum: every env's episodes get their stage's params."""

import functools
import os

import gin
import pytest
from cli_helpers import SMALL_CONFIG, main_in_process, metric_values
import curriculum_helpers
from curriculum_helpers import read_episodes

import alpacka
from alpacka import agents
from alpacka import batch_steppers
from alpacka import envs
from alpacka import errors
from alpacka import runner as runner_lib
from alpacka.runner import cli

N_ENVS = 4
# Stage boundaries 100 and 180 fall inside the epochs (80 env steps each).
CURRICULUM_CONFIG = f"""
Runner.env_class = @curriculum_helpers.RecordingCartPole
Runner.agent_class = @alpacka.agents.RandomAgent
Runner.trainer_class = @alpacka.trainers.DummyTrainer
Runner.n_envs = {N_ENVS}
Runner.episode_time_limit = 15
Runner.env_steps_per_epoch = 80
Runner.env_steps_per_train = 8
Runner.seed = 3
Runner.curriculum = @alpacka.envs.Curriculum()
Curriculum.stages = [
    {{'env_steps': 0, 'params': {{'force_mag': 5.0}}}},
    {{'env_steps': 100, 'params': {{'gravity': 5.0}}}},
    {{'env_steps': 180, 'params': {{'force_mag': 15.0}}}},
]
"""
# The params in force at each stage (CartPole's gravity is 9.8).
STAGE_PARAMS = [{'force_mag': 5.0, 'gravity': 9.8},
                {'force_mag': 5.0, 'gravity': 5.0},
                {'force_mag': 15.0, 'gravity': 5.0}]


BOUNDARIES = (100, 180)


def _expected_stage(env_steps):
    return sum(env_steps >= boundary for boundary in BOUNDARIES)


def _runner(output_dir, record_dir, *bindings):
    record_dir.mkdir(exist_ok=True)
    gin.clear_config()
    gin.parse_config([CURRICULUM_CONFIG,
                      f"Runner.env_kwargs = {{'record_dir': '{record_dir}'}}",
                      *bindings])
    return runner_lib.Runner(str(output_dir))


def _check_episodes(record_dir, first_env_step):
    """Each recorded episode had the params of the stage at its start.

    Envs step in lock-step from first_env_step, so an env's own step count k
    is the run's global step first_env_step + k * N_ENVS.

    Returns:
        The stages the episodes started in, and whether an episode was under
        way at a boundary.
    """
    episodes = read_episodes(record_dir)
    assert len(episodes) == N_ENVS
    stages, crossings = set(), 0
    for env_episodes in episodes.values():
        assert len(env_episodes) >= 2
        starts = []
        for episode in env_episodes:
            env_steps = first_env_step + episode['start'] * N_ENVS
            assert episode['env_steps'] == env_steps, episode
            stage = _expected_stage(env_steps)
            assert episode['params'] == STAGE_PARAMS[stage], episode
            assert not episode['changed'], episode
            stages.add(stage)
            starts.append(env_steps)
        # Episodes under way at a boundary (kept at their start's stage).
        crossings += sum(1 for start, next_start in zip(starts, starts[1:])
                         for boundary in BOUNDARIES
                         if start < boundary < next_start)
    return stages, crossings > 0


def _check_metrics(output_dir, epochs):
    for name in ('stage', 'force_mag', 'gravity'):
        expected = {epoch: (_expected_stage(80 * (epoch + 1)) if name == 'stage'
                            else STAGE_PARAMS[_expected_stage(
                                80 * (epoch + 1))][name])
                    for epoch in epochs}
        assert metric_values(output_dir, f'curriculum/{name}') == expected


def test_local_run_switches_stages_at_episode_starts(tmp_path):
    _runner(tmp_path / 'run', tmp_path / 'records', 'Runner.n_epochs = 3').run()
    assert _check_episodes(tmp_path / 'records', 0) == ({0, 1, 2}, True)
    # Stage after 80, 160, 240 steps: 0, 1, 2.
    _check_metrics(tmp_path / 'run', [0, 1, 2])


def test_ray_run_switches_stages_in_every_worker(ray_cluster, tmp_path):
    del ray_cluster
    _runner(tmp_path / 'run', tmp_path / 'records', 'Runner.n_epochs = 3',
            'Runner.batch_stepper_class = '
            '@alpacka.batch_steppers.RayBatchStepper',
            'RayBatchStepper.n_workers = 2').run()
    assert _check_episodes(tmp_path / 'records', 0) == ({0, 1, 2}, True)
    _check_metrics(tmp_path / 'run', [0, 1, 2])


def test_resumed_run_continues_at_the_stage_of_its_step_count(tmp_path):
    _runner(tmp_path / 'run', tmp_path / 'first', 'Runner.n_epochs = 1').run()
    assert _check_episodes(tmp_path / 'first', 0) == ({0}, False)
    # Fresh envs in the resumed run start at env step 80, still stage 0,
    # and switch at 100 and 180 as the first run would have.
    _runner(tmp_path / 'run', tmp_path / 'resumed', 'Runner.n_epochs = 3').run()
    assert _check_episodes(tmp_path / 'resumed', 80) == ({0, 1, 2}, True)
    _check_metrics(tmp_path / 'run', [0, 1, 2])


@pytest.mark.parametrize('binding, message', [
    ('Runner.env_steps_per_epoch = None',
     'Runner.curriculum needs step-based collection'),
    ("Curriculum.stages = [{'env_steps': 0, 'params': {'force': 1.0}}]",
     "stage 0 sets 'force', which RecordingCartPole does not have"),
])
def test_runner_refuses_a_curriculum_it_cannot_follow(tmp_path, binding,
                                                      message):
    with pytest.raises(errors.ConfigError, match=message):
        _runner(tmp_path / 'run', tmp_path / 'records', binding)
    assert not list((tmp_path / 'records').iterdir())


def test_shipped_sac_curriculum_config_runs(tmp_path):
    """sac_pendulum_curriculum.gin, shrunk to 120 steps (stage 0, g = 3)."""
    gin.clear_config()
    gin.parse_config_files_and_bindings(
        [os.path.join(os.path.dirname(alpacka.__file__), 'configs',
                      'sac_pendulum_curriculum.gin')],
        ['Runner.n_epochs = 2', 'Runner.env_steps_per_epoch = 60',
         'Runner.episode_time_limit = 30',
         'SoftActorCriticAgent.n_random_steps = 20',
         'SoftActorCriticNetwork.hidden_sizes = (16,)',
         'SoftActorCriticTrainer.batch_size = 16',
         'SoftActorCriticTrainer.min_replay_size = 50',
         'SoftActorCriticTrainer.updates_per_step = 1.0',
         'EvaluationCallback.n_episodes = 2'])
    runner = runner_lib.Runner(str(tmp_path))
    runner.run()
    assert metric_values(tmp_path, 'curriculum/stage') == {0: 0, 1: 0}
    assert metric_values(tmp_path, 'curriculum/g') == {0: 3.0, 1: 3.0}
    assert metric_values(tmp_path, 'train/n_updates') == {0: 11, 1: 60}
    assert metric_values(tmp_path, 'eval_episode/count') == {0: 2, 1: 2}


def test_cli_reports_a_bad_stages_file_in_one_paragraph(tmp_path, capsys):
    stages_file = tmp_path / 'stages.json'
    stages_file.write_text('[{"env_steps": 0, "params": {"gravity": 1.0}},\n'
                           ' {"env_steps": 50, "params": {"gravity": 2.0}\n]')
    config = tmp_path / 'curriculum.gin'
    config.write_text(SMALL_CONFIG + f"""
Runner.env_steps_per_epoch = 10
Runner.curriculum = @alpacka.envs.Curriculum()
Curriculum.stages_file = '{stages_file}'
""")
    exit_code = main_in_process([f'--config_file={config}',
                                 f'--output_dir={tmp_path / "run"}'])
    stderr = capsys.readouterr().err.strip()
    assert exit_code == 2
    assert stderr == (
        f"alpacka: error: Curriculum.stages_file = '{stages_file}' is not "
        f"valid JSON: Expecting ',' delimiter at line 3, column 1: ']'. The "
        f'file lists the stages: [{{"env_steps": 0, "params": {{...}}}}, '
        f'...].')


# sac_pendulum_async.gin shrunk (2 envs per collector, chunks of 2 x 10
# steps, 100-step epochs), with g raised at env steps 120 and 220.
ASYNC_CHUNK_ROUNDS = 10
ASYNC_N_ENVS = 2
ASYNC_BOUNDARIES = (120, 220)
ASYNC_G = (3.0, 6.0, 10.0)


def test_async_collectors_switch_stages_at_the_same_global_steps(ray_cluster,
                                                                 tmp_path):
    del ray_cluster
    record_dir = tmp_path / 'records'
    record_dir.mkdir()
    gin.clear_config()
    cli.parse_gin(
        [os.path.join(os.path.dirname(alpacka.__file__), 'configs',
                      'sac_pendulum_async.gin')],
        ['Runner.n_envs = 2', 'Runner.episode_time_limit = 15',
         'Runner.env_steps_per_epoch = 100', 'Runner.callback_classes = []',
         'Runner.n_epochs = 3',
         'Runner.env_class = @curriculum_helpers.RecordingPendulum',
         f"Runner.env_kwargs = {{'record_dir': '{record_dir}'}}",
         'Runner.curriculum = @alpacka.envs.Curriculum()',
         'Curriculum.stages = [' + ', '.join(
             f"{{'env_steps': {start}, 'params': {{'g': {g}}}}}"
             for start, g in zip((0,) + ASYNC_BOUNDARIES, ASYNC_G)) + ']',
         'AsyncTraining.n_collectors = 2',
         'AsyncTraining.collector_cpus = 0.5',
         f'AsyncTraining.steps_per_chunk = {ASYNC_CHUNK_ROUNDS}',
         'AsyncTraining.broadcast_every = 5',
         'AsyncTraining.learner_cpus = None',
         'SoftActorCriticAgent.n_random_steps = 20',
         'SoftActorCriticNetwork.hidden_sizes = (16,)',
         'SoftActorCriticTrainer.batch_size = 16',
         'SoftActorCriticTrainer.min_replay_size = 40',
         'SoftActorCriticTrainer.updates_per_step = 1.0'])
    runner_lib.Runner(str(tmp_path / 'run')).run()

    episodes = [episode for env_episodes in read_episodes(record_dir).values()
                for episode in env_episodes]
    stages_by_collector = {}
    for episode in episodes:
        env_steps = episode['env_steps']
        # A chunk covers 20 consecutive global steps from a multiple of 20:
        # the step the env was told is its chunk's start plus its round.
        assert env_steps % (ASYNC_CHUNK_ROUNDS * ASYNC_N_ENVS) == (
            episode['start'] % ASYNC_CHUNK_ROUNDS) * ASYNC_N_ENVS, episode
        stage = sum(env_steps >= boundary for boundary in ASYNC_BOUNDARIES)
        assert episode['params'] == {'g': ASYNC_G[stage]}, episode
        assert not episode['changed'], episode
        stages_by_collector.setdefault(episode['pid'], set()).add(stage)
    # Both collectors played; which stages each reached depends on how the
    # chunks fell between them (timing), the params of each episode do not.
    assert len(stages_by_collector) == 2
    assert set().union(*stages_by_collector.values()) == {0, 1, 2}
    assert metric_values(tmp_path / 'run', 'curriculum/g') == {
        0: 3.0, 1: 6.0, 2: 10.0}


def test_chunks_from_assigned_steps_switch_at_the_same_boundary(tmp_path):
    """What each asynchronous collector does, in-process: two steppers take
    chunks in turn, each chunk from the global step the driver assigns."""
    record_dir = tmp_path / 'records'
    record_dir.mkdir()
    curriculum = envs.Curriculum(stages=[
        {'env_steps': 0, 'params': {'g': 3.0}},
        {'env_steps': 70, 'params': {'g': 6.0}},
        {'env_steps': 130, 'params': {'g': 10.0}}])
    env_fn = curriculum.wrap(functools.partial(
        curriculum_helpers.RecordingPendulum, record_dir=str(record_dir)))
    collectors = [batch_steppers.LocalBatchStepper(
        env_fn, agents.RandomAgent, None, n_envs=2, seed=index)
        for index in range(2)]
    assigned = 0
    for chunk in range(10):  # Chunks of 2 envs x 10 rounds.
        collectors[chunk % 2].run_steps(None, 10, time_limit=7,
                                        env_steps=assigned)
        assigned += 20
    for collector in collectors:
        collector.close()

    def global_step(own_steps, collector):
        # An env's k-th chunk is chunk 2 k + collector, from step 20 x that.
        chunk = 2 * (own_steps // 10) + collector
        return 20 * chunk + 2 * (own_steps % 10)

    collectors_seen, stages_seen = [], set()
    for env_episodes in read_episodes(record_dir).values():
        collector = [c for c in (0, 1) if all(
            episode['env_steps'] == global_step(episode['start'], c)
            for episode in env_episodes)]
        assert len(collector) == 1, env_episodes
        collectors_seen.append(collector[0])
        for episode in env_episodes:
            stage = sum(global_step(episode['start'], collector[0]) >= boundary
                        for boundary in (70, 130))
            assert episode['params'] == {'g': (3.0, 6.0, 10.0)[stage]}, episode
            assert not episode['changed'], episode
            stages_seen.add((collector[0], stage))
    assert sorted(collectors_seen) == [0, 0, 1, 1]
    assert stages_seen == {(c, stage) for c in (0, 1) for stage in (0, 1, 2)}
