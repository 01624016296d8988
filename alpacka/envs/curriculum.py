"""Curricula: env parameters that change on a schedule of env steps.

A curriculum is a list of stages, each ``{'env_steps': boundary, 'params':
{name: value}}``, bound in Gin (``Curriculum.stages``) or read from a JSON
file (``Curriculum.stages_file``), and switched on with ``Runner.curriculum =
@Curriculum()``. The first stage starts at env step 0; boundaries increase
strictly. The params in force at stage k are the env's own values, updated by
stages 0..k in order: a stage names only what it changes, and any env (a
fresh one in a resumed run, a worker's) at stage k has exactly the same
params.

A stage applies to the episodes that *start* at or after its boundary,
judged on the run's global env-step count as the agents see it
(``agent.env_steps``): params never change mid-episode, and every env of
every worker or collector switches at the same step. The Runner wraps its
env factory (CurriculumEnvFactory, picklable, so Ray workers get it too);
each env it makes is a CurriculumWrapper, which StepCollector tells the
global env step at each episode start (``on_episode_start``). Only
step-based collection knows that step, so the Runner refuses a curriculum
with whole-episode collection. An episode started without being told the
step (an EvaluationCallback's, played with ``solve``) plays the last stage:
evaluation measures the task the curriculum leads to.

How params reach an env: an env (or the env a gymnasium wrapper or GymEnv
wraps) that defines ``curriculum_params() -> {name: value}`` and
``set_curriculum_params(params)`` decides itself; otherwise a param is a
public attribute of the innermost env (``env.unwrapped``; for GymEnv the
gymnasium env it adapts, e.g. Pendulum-v1's ``max_torque`` and ``g``), set
with setattr. Attributes derived from others in the constructor are not
recomputed (CartPole's ``total_mass`` from ``masspole``): give such envs the
two methods. A param the env does not have is refused at start-up.
"""

import bisect
import dataclasses
import difflib
import json
import numbers
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import gymnasium

from alpacka.envs import base
from alpacka.envs import gym_adapter
from alpacka.utils import validation

_STAGE_KEYS = ('env_steps', 'params')
_STAGE_FORMAT = ("each stage is a dict {'env_steps': <an int >= 0>, 'params': "
                 "{<env parameter name>: <value>}}")


class CurriculumError(validation.ArgumentError):
    """A curriculum's stages are malformed or do not fit the env (a
    ConfigError whose message stays one paragraph when Gin adds its call
    stack)."""


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of a curriculum.

    Attributes:
        env_steps: The global env step from which episodes start in this
            stage.
        params: Env parameter values, ``{name: value}``.
    """
    env_steps: int
    params: Dict[str, Any]


def stage_index(stages: Sequence[Stage], env_steps: int) -> int:
    """The index of the stage in force at global env step env_steps.

    Args:
        stages: Stages with strictly increasing boundaries, the first at 0.
        env_steps: A global env-step count (>= 0).

    Returns:
        The last stage whose boundary is <= env_steps.
    """
    boundaries = [stage.env_steps for stage in stages]
    return bisect.bisect_right(boundaries, env_steps) - 1


# Parsing and validation --------------------------------------------------


def _read_stages_file(path: str) -> Any:
    """The JSON value in path; one paragraph for an unreadable file."""
    source = f'Curriculum.stages_file = {path!r}'
    try:
        with open(path, encoding='utf-8') as stages_file:
            text = stages_file.read()
    except OSError as error:
        raise CurriculumError(
            f'{source} cannot be read ({error.strerror or error}). Give the '
            f'path of a JSON file listing the stages, e.g. [{{"env_steps": '
            f'0, "params": {{"max_torque": 1.0}}}}].') from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        lines = text.splitlines()
        line = lines[error.lineno - 1] if error.lineno <= len(lines) else ''
        raise CurriculumError(
            f'{source} is not valid JSON: {error.msg} at line {error.lineno}, '
            f'column {error.colno}: {line.strip()!r}. The file lists the '
            f'stages: [{{"env_steps": 0, "params": {{...}}}}, ...].'
        ) from error


def _parse_stage(index: int, raw: Any, source: str) -> Stage:
    """One raw stage (a dict) as a Stage, or one paragraph saying why not."""
    where = f'{source}: stage {index} ({raw!r})'
    if not isinstance(raw, dict):
        raise CurriculumError(f'{where} is not a dict; {_STAGE_FORMAT}.')
    if sorted(raw) != sorted(_STAGE_KEYS):
        extra = sorted(set(raw) - set(_STAGE_KEYS), key=str)
        missing = [key for key in _STAGE_KEYS if key not in raw]
        problems = ([f'lacks {", ".join(map(repr, missing))}'] if missing
                    else []) + ([f'has unknown keys {", ".join(map(repr, extra))}']
                                if extra else [])
        raise CurriculumError(
            f'{where} {" and ".join(problems)}; {_STAGE_FORMAT}.')
    env_steps, params = raw['env_steps'], raw['params']
    if not (isinstance(env_steps, numbers.Integral) and
            not isinstance(env_steps, bool) and env_steps >= 0):
        raise CurriculumError(
            f'{where} has env_steps = {env_steps!r}; it must be an int >= 0 '
            f'(the global env step from which its episodes start).')
    if not isinstance(params, dict) or not all(
            isinstance(name, str) and name for name in params):
        raise CurriculumError(
            f'{where} has params = {params!r}; it must be a dict from env '
            f'parameter names (strings) to values.')
    return Stage(int(env_steps), dict(params))


def parse_stages(raw_stages: Any, source: str) -> Tuple[Stage, ...]:
    """Checks raw stages (as bound in Gin or read from JSON).

    Args:
        raw_stages: A list of ``{'env_steps': int, 'params': dict}``.
        source: Where they come from, for messages (e.g.
            ``Curriculum.stages``).

    Returns:
        The Stages, in order.

    Raises:
        CurriculumError: not a non-empty list of such dicts, the first
            stage not at 0, or boundaries not strictly increasing.
    """
    if not isinstance(raw_stages, (list, tuple)) or not raw_stages:
        raise CurriculumError(
            f'{source} must be a non-empty list of stages, got '
            f'{raw_stages!r}; {_STAGE_FORMAT}.')
    stages = tuple(_parse_stage(index, raw, source)
                   for index, raw in enumerate(raw_stages))
    if stages[0].env_steps != 0:
        raise CurriculumError(
            f'{source}: the first stage starts at env step '
            f'{stages[0].env_steps}, not 0, so no stage would say what the '
            f'episodes before it play. Start with {{"env_steps": 0, '
            f'"params": {{}}}} to keep the env\'s own values until then.')
    for index in range(1, len(stages)):
        previous, current = stages[index - 1].env_steps, stages[index].env_steps
        if current <= previous:
            kind = 'the same boundary as' if current == previous else 'before'
            raise CurriculumError(
                f'{source}: stage {index} starts at env step {current}, '
                f'{kind} stage {index - 1} ({previous}). Boundaries must '
                f'increase strictly: list the stages in order of env_steps, '
                f'one stage per boundary (merge the params of stages that '
                f'share one).')
    return stages


# How params reach an env -------------------------------------------------


def _has_hooks(obj: Any) -> bool:
    return (callable(getattr(obj, 'curriculum_params', None)) and
            callable(getattr(obj, 'set_curriculum_params', None)))


def param_owner(env: gymnasium.Env) -> Any:
    """The object that holds env's curriculum params.

    The first of env, ``env.unwrapped`` and (for GymEnv) the gymnasium env
    it adapts that defines ``curriculum_params`` and
    ``set_curriculum_params``; else the innermost of them, whose public
    attributes are the params.
    """
    candidates = [env, env.unwrapped]
    if isinstance(candidates[-1], gym_adapter.GymEnv):
        candidates.append(candidates[-1].unwrapped_env)
    for candidate in candidates:
        if _has_hooks(candidate):
            return candidate
    return candidates[-1]


def get_params(owner: Any) -> Dict[str, Any]:
    """The params a curriculum may set on owner, with their current values.

    Args:
        owner: A param_owner().

    Returns:
        ``owner.curriculum_params()`` if it has the hooks, else its public,
        non-callable instance attributes.
    """
    if _has_hooks(owner):
        return dict(owner.curriculum_params())
    return {name: value for name, value in vars(owner).items()
            if not name.startswith('_') and not callable(value)}


def set_params(owner: Any, params: Dict[str, Any]) -> None:
    """Sets params on a param_owner() (its hook, or setattr)."""
    if _has_hooks(owner):
        owner.set_curriculum_params(dict(params))
        return
    for name, value in params.items():
        setattr(owner, name, value)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _unknown_param_message(stage: int, name: str, owner: Any,
                           known: Dict[str, Any], source: str) -> str:
    env_name = type(owner).__name__
    numeric = sorted(key for key, value in known.items() if _is_number(value))
    message = (f'{source}: stage {stage} sets {name!r}, which {env_name} '
               f'does not have. ')
    if numeric:
        message += f'Its numeric parameters are: {", ".join(numeric)}. '
    closest = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if closest:
        message += f'Did you mean {closest[0]!r}? '
    if _has_hooks(owner):
        return message + f'A curriculum sets what {env_name}.curriculum_params() lists.'
    return (message + 'A curriculum sets public attributes of the env (of '
            'env.unwrapped; for GymEnv, of the gymnasium env it adapts), or '
            'what the env lists in curriculum_params() if it defines that '
            'and set_curriculum_params(params).')


def resolve_stages(stages: Sequence[Stage], env: gymnasium.Env,
                   source: str = 'Curriculum') -> Tuple[Stage, ...]:
    """The stages with the params in force at each, checked against env.

    Args:
        stages: Parsed stages (parse_stages).
        env: An env as the run makes them (its current params are the
            values before any stage sets them).
        source: Where the stages come from, for messages.

    Returns:
        Stages whose params hold every param any stage names: the env's own
        value, updated by this stage and the ones before it.

    Raises:
        CurriculumError: a stage names a param the env does not have.
    """
    owner = param_owner(env)
    known = get_params(owner)
    for index, stage in enumerate(stages):
        for name in stage.params:
            if name not in known:
                raise CurriculumError(_unknown_param_message(
                    index, name, owner, known, source))
    names = sorted({name for stage in stages for name in stage.params})
    in_force = {name: known[name] for name in names}
    resolved = []
    for stage in stages:
        in_force = {**in_force, **stage.params}
        resolved.append(Stage(stage.env_steps, dict(in_force)))
    return tuple(resolved)


# The configurable and the env wrapper ------------------------------------


@validation.configurable(module='alpacka.envs')
class Curriculum:
    """Env parameters on a schedule of env steps: ``Runner.curriculum``.

    Give exactly one of stages and stages_file; see the module docstring
    for what a stage means. E.g.::

        Curriculum.stages = [
            {'env_steps': 0, 'params': {'max_torque': 1.0}},
            {'env_steps': 5000, 'params': {'max_torque': 2.0}}]

    Args:
        stages: The stages, ``[{'env_steps': int, 'params': dict}, ...]``,
            the first at env step 0, boundaries strictly increasing.
        stages_file: Path of a JSON file holding such a list.

    Raises:
        CurriculumError: neither or both given, or malformed stages.
    """

    def __init__(self,
                 stages: Optional[Sequence[Dict[str, Any]]] = None,
                 stages_file: Optional[str] = None):
        if (stages is None) == (stages_file is None):
            raise CurriculumError(
                'Give a curriculum\'s stages either as Curriculum.stages (a '
                'list of {"env_steps": ..., "params": {...}}) or as '
                'Curriculum.stages_file (a JSON file holding that list), '
                + ('not both.' if stages is not None else 'got neither.'))
        if stages is not None:
            self._source = 'Curriculum.stages'
            self._stages = parse_stages(stages, self._source)
        else:
            self._source = f'Curriculum.stages_file = {stages_file!r}'
            self._stages = parse_stages(_read_stages_file(stages_file),
                                        self._source)

    @property
    def stages(self) -> Tuple[Stage, ...]:
        """The stages as given (params: what each stage changes)."""
        return self._stages

    def stage_index(self, env_steps: int) -> int:
        """The index of the stage in force at global env step env_steps."""
        return stage_index(self._stages, env_steps)

    def wrap(self, env_fn: Callable[[], gymnasium.Env]
             ) -> 'CurriculumEnvFactory':
        """An env factory whose envs follow this curriculum.

        Makes one env of env_fn to check the params against it.

        Raises:
            CurriculumError: a stage names a param the env does not have.
        """
        probe_env = env_fn()
        try:
            resolved = resolve_stages(self._stages, probe_env, self._source)
        finally:
            probe_env.close()
        return CurriculumEnvFactory(env_fn, resolved)


class CurriculumWrapper(base.ModelWrapper):
    """An env whose params follow a curriculum, switched at episode starts.

    Spaces, ``reset``, ``step``, ``clone_state`` and ``restore_state`` pass
    through unchanged (planners use them).

    Args:
        env: The env.
        stages: Resolved stages (resolve_stages): every stage's params hold
            every param of the curriculum.
    """

    def __init__(self, env: gymnasium.Env, stages: Sequence[Stage]):
        super().__init__(env)
        self._stages = tuple(stages)
        self._owner = param_owner(env)
        self._stage_index: Optional[int] = None

    def on_episode_start(self, env_steps: Optional[int]) -> None:
        """Sets the params of the stage in force at global step env_steps.

        StepCollector calls this before each episode's reset.

        Args:
            env_steps: The run's global env-step count when the episode
                starts (None: unknown, the last stage).
        """
        index = (len(self._stages) - 1 if env_steps is None else
                 stage_index(self._stages, env_steps))
        # Every start: a planner's restore_state may have written old values.
        set_params(self._owner, self._stages[index].params)
        self._stage_index = index
        # The hook goes on to a wrapped env that has one too.
        inner_hook = getattr(self.env, 'on_episode_start', None)
        if inner_hook is not None:
            inner_hook(env_steps)

    def reset(self, **kwargs) -> Any:
        if self._stage_index is None:
            # Not told the step (episodes played by solve): the last stage.
            self.on_episode_start(None)
        return self.env.reset(**kwargs)

    @property
    def stage_index(self) -> Optional[int]:
        """The stage whose params are set (None before the first episode)."""
        return self._stage_index


class CurriculumEnvFactory:
    """Zero-argument env factory: env_fn's envs, wrapped in CurriculumWrapper.

    Picklable with cloudpickle when env_fn is, so Ray workers and
    collectors make the same envs.

    Args:
        env_fn: The zero-argument env factory.
        stages: Resolved stages (resolve_stages).

    Attributes:
        func: The env class (like functools.partial's func, which the
            Runner's messages name).
    """

    def __init__(self, env_fn: Callable[[], gymnasium.Env],
                 stages: Sequence[Stage]):
        self.env_fn = env_fn
        self.stages = tuple(stages)
        self.func = getattr(env_fn, 'func', env_fn)

    def __call__(self) -> CurriculumWrapper:
        return CurriculumWrapper(self.env_fn(), self.stages)

    def metrics(self, env_steps: int) -> Dict[str, float]:
        """``stage`` and the numeric params in force at global step
        env_steps (logged as ``curriculum/*``)."""
        index = stage_index(self.stages, env_steps)
        return {'stage': index, **{
            name: float(value)
            for name, value in self.stages[index].params.items()
            if _is_number(value)}}


# What the Runner calls ---------------------------------------------------


def wrap_env_fn(curriculum: Optional[Curriculum],
                env_fn: Callable[[], gymnasium.Env],
                step_based: bool) -> Callable[[], gymnasium.Env]:
    """The Runner's env factory under Runner.curriculum.

    Args:
        curriculum: Runner.curriculum (None: env_fn unchanged).
        env_fn: The Runner's env factory.
        step_based: Whether the run collects step by step
            (Runner.env_steps_per_epoch set).

    Returns:
        env_fn itself without a curriculum, else a CurriculumEnvFactory.

    Raises:
        CurriculumError: a curriculum with whole-episode collection, or
            params the env does not have.
    """
    if curriculum is None:
        return env_fn
    if not step_based:
        raise CurriculumError(
            'Runner.curriculum needs step-based collection: a stage applies '
            'to the episodes that start at or after its env step, and only '
            'step-based collection knows the run\'s env step at each '
            'episode start. Set Runner.env_steps_per_epoch (e.g. to a '
            'multiple of Runner.n_envs), or remove Runner.curriculum.')
    return curriculum.wrap(env_fn)


def epoch_metrics(env_fn: Callable, env_steps: int) -> Dict[str, float]:
    """The curriculum/* metrics of a Runner's env factory (none without a
    curriculum): the stage in force after env_steps steps and its numeric
    params."""
    if not isinstance(env_fn, CurriculumEnvFactory):
        return {}
    return env_fn.metrics(env_steps)


__all__: List[str] = ['Curriculum', 'CurriculumEnvFactory', 'CurriculumError',
                      'CurriculumWrapper', 'Stage', 'epoch_metrics',
                      'parse_stages', 'resolve_stages', 'stage_index',
                      'wrap_env_fn']
