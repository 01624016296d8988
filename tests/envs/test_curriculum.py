"""Curriculum stages: lookup, validation, and how params reach envs."""

import json

import cloudpickle
import gin
import numpy as np
import pytest

from alpacka import envs
from alpacka import errors
from alpacka.envs import curriculum as curriculum_lib
from alpacka.utils import validation

STAGES = [{'env_steps': 0, 'params': {'max_torque': 1.0}},
          {'env_steps': 100, 'params': {'g': 5.0}},
          {'env_steps': 250, 'params': {'max_torque': 0.5}}]


@pytest.mark.parametrize('env_steps, expected', [
    (0, 0), (99, 0), (100, 1), (101, 1), (249, 1), (250, 2), (10 ** 9, 2)])
def test_stage_index_is_the_last_boundary_reached(env_steps, expected):
    assert envs.Curriculum(stages=STAGES).stage_index(env_steps) == expected


def test_stages_in_force_add_up_over_the_env_defaults():
    # Pendulum's own values: max_torque 2.0, g 10.0.
    stages = curriculum_lib.resolve_stages(
        envs.Curriculum(stages=STAGES).stages, envs.Pendulum())
    assert [(stage.env_steps, stage.params) for stage in stages] == [
        (0, {'g': 10.0, 'max_torque': 1.0}),
        (100, {'g': 5.0, 'max_torque': 1.0}),
        (250, {'g': 5.0, 'max_torque': 0.5})]


@pytest.mark.parametrize('stages, message', [
    ([], 'Curriculum.stages must be a non-empty list of stages'),
    ([{'env_steps': 10, 'params': {}}],
     r'the first stage starts at env step 10, not 0.*Start with '
     r'\{"env_steps": 0, "params": \{\}\}'),
    ([{'env_steps': 0, 'params': {}}, {'env_steps': 50, 'params': {}},
      {'env_steps': 20, 'params': {}}],
     r'stage 2 starts at env step 20, before stage 1 \(50\). Boundaries '
     r'must increase strictly'),
    ([{'env_steps': 0, 'params': {}}, {'env_steps': 0, 'params': {}}],
     r'stage 1 starts at env step 0, the same boundary as stage 0 \(0\)'),
    ([{'env_steps': 0}], r"stage 0 \(\{'env_steps': 0\}\) lacks 'params'"),
    ([{'env_steps': 0, 'params': {}, 'steps': 3}],
     "has unknown keys 'steps'"),
    ([{'env_steps': -1, 'params': {}}],
     'has env_steps = -1; it must be an int >= 0'),
    ([{'env_steps': 1.5, 'params': {}}],
     'has env_steps = 1.5; it must be an int >= 0'),
    ([{'env_steps': True, 'params': {}}],
     'has env_steps = True; it must be an int >= 0'),
    ([{'env_steps': 0, 'params': [1.0]}],
     r'has params = \[1.0\]; it must be a dict from env parameter names'),
])
def test_malformed_stages_are_one_paragraph(stages, message):
    with pytest.raises(curriculum_lib.CurriculumError, match=message) as info:
        envs.Curriculum(stages=stages)
    assert '\n' not in str(info.value)
    assert isinstance(info.value, errors.ConfigError)


@pytest.mark.parametrize('kwargs, message', [
    ({}, 'got neither'),
    ({'stages': STAGES, 'stages_file': 'stages.json'}, 'not both'),
])
def test_stages_come_from_exactly_one_source(kwargs, message):
    with pytest.raises(curriculum_lib.CurriculumError, match=message):
        envs.Curriculum(**kwargs)


def test_stages_file_lists_the_same_stages(tmp_path):
    path = tmp_path / 'stages.json'
    path.write_text(json.dumps(STAGES, indent=2))
    assert (envs.Curriculum(stages_file=str(path)).stages ==
            envs.Curriculum(stages=STAGES).stages)


def test_unreadable_stages_file_names_the_line(tmp_path):
    path = tmp_path / 'stages.json'
    path.write_text('[\n  {"env_steps": 0, "params": {}},\n'
                    '  {"env_steps": 10 "params": {}}\n]\n')
    with pytest.raises(curriculum_lib.CurriculumError) as info:
        envs.Curriculum(stages_file=str(path))
    assert str(info.value).startswith(
        f"Curriculum.stages_file = '{path}' is not valid JSON: Expecting ',' "
        f"delimiter at line 3, column 20: '{{\"env_steps\": 10 \"params\": {{}}}}'.")
    with pytest.raises(curriculum_lib.CurriculumError,
                       match='cannot be read .No such file or directory.'):
        envs.Curriculum(stages_file=str(tmp_path / 'missing.json'))
    # Valid JSON, malformed stages: named after the file.
    path.write_text('{"env_steps": 0}')
    with pytest.raises(curriculum_lib.CurriculumError,
                       match=r"stages_file = '.*stages.json' must be a "
                             r"non-empty list of stages"):
        envs.Curriculum(stages_file=str(path))
    path.write_text('[[0, {}]]')
    with pytest.raises(curriculum_lib.CurriculumError,
                       match=r"stages.json': stage 0 \(\[0, \{\}\]\) is not a dict; "
                             r"each stage is a dict \{'env_steps'"):
        envs.Curriculum(stages_file=str(path))


def test_gin_binding_builds_the_curriculum():
    gin.clear_config()
    try:
        gin.parse_config("""
            Curriculum.stages = [{'env_steps': 0, 'params': {'g': 2.0}},
                                 {'env_steps': 7, 'params': {'g': 3.0}}]
        """)
        curriculum = envs.Curriculum()
        assert curriculum.stages == (curriculum_lib.Stage(0, {'g': 2.0}),
                                     curriculum_lib.Stage(7, {'g': 3.0}))
        gin.parse_config('Curriculum.stages = 5')
        with pytest.raises(validation.ArgumentError,
                           match='Curriculum.stages = 5 is not allowed'):
            validation.check_bindings()
    finally:
        gin.clear_config()


@pytest.mark.parametrize('make_env, owner_name, listed', [
    (envs.Pendulum, 'Pendulum', 'dt, g, l, m, max_speed, max_torque, screen_dim'),
    (lambda: envs.GymEnv(env_id='Pendulum-v1'), 'PendulumEnv',
     'dt, g, l, m, max_speed, max_torque, screen_dim'),
])
def test_unknown_param_lists_what_the_env_has(make_env, owner_name, listed):
    stages = envs.Curriculum(stages=[
        {'env_steps': 0, 'params': {}},
        {'env_steps': 5, 'params': {'max_torqe': 3.0}}]).stages
    with pytest.raises(curriculum_lib.CurriculumError) as info:
        curriculum_lib.resolve_stages(stages, make_env(), 'Curriculum.stages')
    assert str(info.value).startswith(
        f"Curriculum.stages: stage 1 sets 'max_torqe', which {owner_name} does "
        f"not have. Its numeric parameters are: {listed}. Did you mean "
        f"'max_torque'?")


def _torque_response(env, torque):
    """theta_dot after one step from rest at theta = pi / 2 (torque clipped
    to env's max_torque, scaled by its g)."""
    env.reset(seed=0)
    env.restore_state(_upright_state(env))
    observation, *_ = env.step(np.array([torque], dtype=np.float32))
    return float(observation[2])


def _upright_state(env):
    """A Pendulum state at rest at theta = pi / 2, for either kind of env."""
    if isinstance(env.unwrapped, envs.GymEnv):
        snapshot = env.clone_state()
        snapshot.attributes['state'] = np.array([np.pi / 2, 0.0])
        return snapshot
    return (np.pi / 2, 0.0)


@pytest.mark.parametrize('make_env, owner', [
    (envs.Pendulum, lambda env: env.unwrapped),
    (lambda: envs.GymEnv(env_id='Pendulum-v1'),
     lambda env: env.unwrapped.unwrapped_env),
])
def test_wrapper_sets_the_stage_of_each_episode_start(make_env, owner):
    curriculum = envs.Curriculum(stages=STAGES)
    factory = curriculum.wrap(make_env)
    env = factory()
    plain = make_env()
    assert env.observation_space is env.env.observation_space
    assert env.action_space is env.env.action_space
    assert env.stage_index is None

    env.on_episode_start(120)
    assert env.stage_index == 1
    assert (owner(env).max_torque, owner(env).g) == (1.0, 5.0)
    # Torque clipped at 1 and gravity 5 against the defaults 2 and 10:
    # dtheta_dot = (3 g / 2 sin(theta) + 3 torque) * 0.05.
    assert _torque_response(env, 2.0) == pytest.approx(
        (1.5 * 5.0 + 3 * 1.0) * 0.05, rel=1e-5)
    assert _torque_response(plain, 2.0) == pytest.approx(
        (1.5 * 10.0 + 3 * 2.0) * 0.05, rel=1e-5)

    # clone_state / restore_state pass through to the env unchanged.
    state = env.clone_state()
    first = env.step(np.array([0.3], dtype=np.float32))[0]
    env.restore_state(state)
    np.testing.assert_array_equal(
        env.step(np.array([0.3], dtype=np.float32))[0], first)

    env.on_episode_start(0)
    assert (env.stage_index, owner(env).max_torque, owner(env).g) == (
        0, 1.0, 10.0)
    env.on_episode_start(250)
    assert (env.stage_index, owner(env).max_torque, owner(env).g) == (
        2, 0.5, 5.0)


def test_env_never_told_the_step_plays_the_last_stage():
    env = envs.Curriculum(stages=STAGES).wrap(envs.Pendulum)()
    env.reset(seed=1)
    assert (env.stage_index, env.unwrapped.max_torque) == (2, 0.5)


class _HookedPendulum(envs.Pendulum):
    """Chooses its own curriculum params: 'strength' scales max_torque."""

    def __init__(self):
        super().__init__()
        self.received = []

    def curriculum_params(self):
        """The one param: strength."""
        return {'strength': self.max_torque / 2.0}

    def set_curriculum_params(self, params):
        """Records params and sets max_torque from them."""
        self.received.append(params)
        self.max_torque = 2.0 * params['strength']


def test_env_hooks_override_attributes():
    curriculum = envs.Curriculum(stages=[
        {'env_steps': 0, 'params': {}},
        {'env_steps': 10, 'params': {'strength': 0.25}}])
    env = curriculum.wrap(_HookedPendulum)()
    env.on_episode_start(3)
    env.on_episode_start(10)
    assert env.unwrapped.received == [{'strength': 1.0}, {'strength': 0.25}]
    assert env.unwrapped.max_torque == 0.5
    bad = envs.Curriculum(stages=[{'env_steps': 0, 'params': {'g': 1.0}}])
    with pytest.raises(curriculum_lib.CurriculumError,
                       match="sets 'g', which _HookedPendulum does not have. "
                             "Its numeric parameters are: strength. A "
                             "curriculum sets what _HookedPendulum."
                             "curriculum_params.. lists.$"):
        bad.wrap(_HookedPendulum)


def test_factory_pickles_and_names_the_env_class():
    factory = envs.Curriculum(stages=STAGES).wrap(envs.Pendulum)
    assert factory.func is envs.Pendulum
    env = cloudpickle.loads(cloudpickle.dumps(factory))()
    assert isinstance(env, envs.CurriculumWrapper)
    env.on_episode_start(100)
    assert (env.unwrapped.max_torque, env.unwrapped.g) == (1.0, 5.0)
    assert curriculum_lib.epoch_metrics(factory, 100) == {
        'stage': 1, 'g': 5.0, 'max_torque': 1.0}
    assert not curriculum_lib.epoch_metrics(envs.Pendulum, 100)


def test_without_a_curriculum_the_env_factory_is_unchanged():
    assert curriculum_lib.wrap_env_fn(None, envs.Pendulum, True) is envs.Pendulum
    assert curriculum_lib.wrap_env_fn(None, envs.Pendulum, False) is envs.Pendulum
