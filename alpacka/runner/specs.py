"""mrunner experiment specifications: loading them, with or without mrunner.

The command line's ``--mrunner`` and the sweep (alpacka.experiments) both
load specs through this module; ``alpacka.experiments.specs`` is an alias.

A specification ("spec") describes experiments the way the mrunner tool does.
It comes in two forms:

- a Python spec file that builds ``experiments_list`` with
  ``create_experiments_helper`` from ``mrunner.helpers.specification_helper``
  (see ``alpacka/configs/shooting_sweep.py``);
- a pickled experiment, as the mrunner CLI writes it for each job it starts
  (cloudpickle of ``Experiment.to_dict()``: a dict with ``parameters``,
  ``name``, ``project``, ``tags``, ``env``...), or a pickled Experiment object.

mrunner is not a dependency of Alpacka. When ``mrunner.helpers.
specification_helper`` cannot be imported, Python specs still load: while one
is executed, the modules ``mrunner``, ``mrunner.helpers``,
``mrunner.helpers.specification_helper`` and ``mrunner.experiment`` are
stand-ins served from this module (``create_experiments_helper`` below), and
they are removed again afterwards. When mrunner is installed, its own helper
is used.
"""

import contextlib
import copy
import dataclasses
import importlib
import itertools
import os
import sys
import types
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence

import cloudpickle

from alpacka import errors
from alpacka.utils import gin_bindings as bindings_lib

# The variable a Python spec file assigns its experiments to.
EXPERIMENTS_VARIABLE = 'experiments_list'
HELPER_MODULE = 'mrunner.helpers.specification_helper'
# Grid keys with this suffix are zipped with each other, not multiplied.
ZIP_SUFFIX = '___'


class Experiment:
    """One experiment of a spec, with the fields of mrunner's Experiment.

    Attributes:
        name: The experiment's name (shared by all experiments of a spec).
        project: Neptune project (None: from NEPTUNE_PROJECT).
        script: The command that runs it, e.g. ``python3 -m alpacka.runner
            --mrunner --output_dir=./out --config_file=...``.
        parameters: ``{'Configurable.parameter': value}``: the Gin bindings.
        python_path, paths_to_dump, exclude: Kept for mrunner; unused here.
        tags: Tags for the logger (Neptune).
        env: Environment variables the experiment runs with.
        with_neptune: Whether the spec asks for Neptune logging.
    """

    def __init__(self, name: str, script: str, parameters: Dict[str, Any],
                 project: Optional[str] = None, python_path: str = '',
                 paths_to_dump: Any = '', tags: Sequence[str] = (),
                 env: Optional[Dict[str, str]] = None,
                 exclude: Sequence[str] = (), with_neptune: bool = False):
        self.name = name
        self.project = project
        self.script = script
        self.parameters = parameters
        self.python_path = python_path
        self.paths_to_dump = paths_to_dump
        self.tags = list(tags)
        self.env = dict(env or {})
        self.exclude = list(exclude)
        self.with_neptune = with_neptune

    def to_dict(self) -> Dict[str, Any]:
        """The experiment as a dict (what the mrunner CLI pickles)."""
        return dict(vars(self), parameters=dict(self.parameters))

    def __repr__(self) -> str:
        return f'Experiment(name={self.name!r}, parameters={self.parameters!r})'


def _alternatives(grid_value: Any) -> List[Any]:
    """The values a grid entry takes: a list, tuple, range or array holds
    alternatives; anything else (a string, a number, a dict) is one value."""
    if isinstance(grid_value, (str, bytes, Mapping)):
        return [grid_value]
    try:
        return list(grid_value)
    except TypeError:
        return [grid_value]


def grid_combinations(params_grid: Any) -> List[Dict[str, Any]]:
    """The points of a parameter grid, as mrunner's helper enumerates them.

    Args:
        params_grid: ``{key: values}`` or a list of such grids (their points
            are concatenated). The Cartesian product of the values is taken,
            the last key varying fastest. A value that is not a list, tuple,
            range or array counts as a one-element list. Keys ending with
            ``___`` are zipped together instead (their lists must have one
            length); the suffix is dropped and each zipped tuple is combined
            with every point of the product.

    Returns:
        One dict per point, keys in grid order (zipped keys first).

    Raises:
        ConfigError: zipped keys have lists of different lengths.
    """
    grids = [params_grid] if isinstance(params_grid, Mapping) else list(
        params_grid)
    combinations = []
    for grid in grids:
        zipped = {key[:-len(ZIP_SUFFIX)]: _alternatives(value)
                  for key, value in grid.items() if key.endswith(ZIP_SUFFIX)}
        crossed = {key: _alternatives(value)
                   for key, value in grid.items()
                   if not key.endswith(ZIP_SUFFIX)}
        lengths = {len(values) for values in zipped.values()}
        if len(lengths) > 1:
            raise errors.ConfigError(
                f'The grid keys {sorted(zipped)} (with the {ZIP_SUFFIX!r} '
                f'suffix) are zipped together, so their lists must have one '
                f'length; they have lengths {sorted(lengths)}.')
        zipped_points = list(zip(*zipped.values())) if zipped else [()]
        for zipped_values in zipped_points:
            for crossed_values in itertools.product(*crossed.values()):
                combinations.append(
                    dict(zip(list(zipped) + list(crossed),
                             zipped_values + crossed_values)))
    return combinations


def create_experiments_helper(
        experiment_name: str, base_config: Dict[str, Any], params_grid: Any,
        script: str, python_path: str = '', paths_to_dump: Any = '',
        tags: Sequence[str] = (), project_name: Optional[str] = None,
        with_neptune: bool = True, env: Optional[Dict[str, str]] = None,
        exclude: Sequence[str] = (),
        update_lambda: Optional[Callable[[dict, dict], Any]] = None,
        **unused_kwargs) -> List[Experiment]:
    """Alpacka's implementation of mrunner's ``create_experiments_helper``.

    Makes one experiment per point of ``params_grid`` (see grid_combinations):
    a deep copy of ``base_config`` updated with the point (by
    ``update_lambda(config, point)`` if given). Unlike mrunner, it adds no
    random tag (so the experiments are the same on every load) and ignores
    mrunner-only options (``callbacks``, ``add_random_tag``, ...).

    Returns:
        The experiments, in grid order.
    """
    del unused_kwargs  # mrunner options that concern only its own launcher.
    experiments = []
    for point in grid_combinations(params_grid):
        config = copy.deepcopy(dict(base_config))
        if update_lambda is None:
            config.update(point)
        else:
            update_lambda(config, point)
        experiments.append(Experiment(
            name=experiment_name, script=script, parameters=config,
            project=project_name, python_path=python_path,
            paths_to_dump=paths_to_dump, tags=tags, env=env, exclude=exclude,
            with_neptune=with_neptune))
    return experiments


def _real_helper_importable() -> bool:
    try:
        importlib.import_module(HELPER_MODULE)
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def mrunner_stand_in() -> Iterator[bool]:
    """Serves mrunner's helper module from Alpacka while mrunner is missing.

    Yields:
        True if the stand-in modules were installed (mrunner's helper is not
        importable), False if the real mrunner is used. The stand-ins leave
        sys.modules on exit.
    """
    if _real_helper_importable():
        yield False
        return
    helper = types.ModuleType(HELPER_MODULE)
    helper.create_experiments_helper = create_experiments_helper
    helper.get_combinations = grid_combinations
    experiment = types.ModuleType('mrunner.experiment')
    experiment.Experiment = Experiment
    helpers = types.ModuleType('mrunner.helpers')
    helpers.specification_helper = helper
    package = types.ModuleType('mrunner')
    package.helpers = helpers
    package.experiment = experiment
    stand_ins = {'mrunner': package, 'mrunner.helpers': helpers,
                 HELPER_MODULE: helper, 'mrunner.experiment': experiment}
    for module in stand_ins.values():
        module.__doc__ = 'Stand-in for mrunner, served by alpacka.runner.specs.'
    for name in ('mrunner', 'mrunner.helpers'):
        stand_ins[name].__path__ = []  # Marks them as packages.
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)
    try:
        yield True
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _experiment_dict(experiment: Any, where: str) -> Dict[str, Any]:
    """A spec's experiment (a dict, an Experiment object) as a plain dict
    with a ``parameters`` dict."""
    if isinstance(experiment, Mapping):
        spec = dict(experiment)
    elif callable(getattr(experiment, 'to_dict', None)):
        spec = dict(experiment.to_dict())
    elif hasattr(experiment, '__dict__'):
        spec = dict(vars(experiment))
    else:
        raise errors.ConfigError(
            f'{where} holds {type(experiment).__name__}, not an mrunner '
            f'experiment (a dict or an Experiment object with parameters).')
    parameters = spec.get('parameters', spec.get('params'))
    if not isinstance(parameters, Mapping):
        raise errors.ConfigError(
            f'{where} has no parameters dict (looked for "parameters" and '
            f'"params"; found the fields {sorted(spec)}).')
    spec['parameters'] = dict(parameters)
    spec.setdefault('name', None)
    spec.setdefault('project', None)
    spec['tags'] = list(spec.get('tags') or [])
    spec['env'] = {str(key): str(value)
                   for key, value in (spec.get('env') or {}).items()}
    if spec.get('with_neptune') is None:
        # mrunner's own Experiment has no such field; its helper puts the
        # Neptune token into env exactly when the spec asks for Neptune.
        spec['with_neptune'] = 'NEPTUNE_API_TOKEN' in spec['env']
    spec['with_neptune'] = bool(spec['with_neptune'])
    return spec


def _exec_spec_file(path: str) -> Any:
    """Runs a Python spec file and returns its experiments_list."""
    with open(path, encoding='utf-8') as spec_file:
        source = spec_file.read()
    # Spec files of the original project read globals()['script'].
    namespace = {'__name__': '__alpacka_spec__', '__file__': path,
                 'script': os.path.basename(path)}
    spec_dir = os.path.dirname(path)
    # Specs import helper modules that sit beside them.
    sys.path.insert(0, spec_dir)
    try:
        with mrunner_stand_in():
            exec(compile(source, path, 'exec'), namespace)  # pylint: disable=exec-used
    except errors.UserError:
        raise
    except Exception as error:  # pylint: disable=broad-except
        raise errors.ConfigError(
            f'Loading the spec file {path} failed: {type(error).__name__}: '
            f'{error}{_spec_line(error, path)}. Run it with --debug to see '
            f'the traceback.') from error
    finally:
        sys.path.remove(spec_dir)
    if EXPERIMENTS_VARIABLE not in namespace:
        raise errors.ConfigError(
            f'The spec file {path} does not define {EXPERIMENTS_VARIABLE}. '
            f'Assign it the list that create_experiments_helper(...) '
            f'returns.')
    return namespace[EXPERIMENTS_VARIABLE]


def _spec_line(error: Exception, path: str) -> str:
    """' (line N)': where in the spec file the error arose, if there."""
    if isinstance(error, SyntaxError):
        return ''  # Its message names the line already.
    traceback = error.__traceback__
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == path:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return f' (line {line})' if line else ''


def _load_pickle(path: str, data: bytes) -> Any:
    try:
        # A pickled mrunner Experiment refers to mrunner.experiment.
        with mrunner_stand_in():
            return cloudpickle.loads(data)
    except Exception as error:  # pylint: disable=broad-except
        raise errors.ConfigError(
            f'Cannot unpickle the experiment specification {path}: '
            f'{type(error).__name__}: {error}.') from error


def load_experiments(path: str) -> Dict[str, Any]:
    """Loads every experiment of a spec.

    Args:
        path: A Python spec file, or a pickled experiment (or list of them).
            Pickles are recognised by their header (cloudpickle writes
            protocol 2 or later); anything else is read as Python.

    Returns:
        ``{'kind': 'python' or 'pickle', 'experiments': [dict, ...]}``; each
        experiment dict has at least ``name``, ``project``, ``parameters``,
        ``tags``, ``env`` and ``with_neptune``.

    Raises:
        ConfigError: the file is missing, fails to load, or holds no
            experiments.
    """
    path = os.path.abspath(os.path.expanduser(path))
    try:
        with open(path, 'rb') as spec_file:
            data = spec_file.read()
    except OSError as error:
        raise errors.ConfigError(
            f'Cannot read the experiment specification {path}: '
            f'{error.strerror or error}.') from error
    if data.startswith(b'\x80'):
        kind, loaded = 'pickle', _load_pickle(path, data)
    else:
        kind, loaded = 'python', _exec_spec_file(path)
    if isinstance(loaded, (list, tuple)):
        entries = list(loaded)
    else:
        entries = [loaded]
    if not entries:
        raise errors.ConfigError(
            f'The specification {path} holds no experiments '
            f'({EXPERIMENTS_VARIABLE} is empty: is the grid empty?).')
    experiments = [_experiment_dict(entry, f'Experiment {i} of {path}')
                   for i, entry in enumerate(entries)]
    return {'kind': kind, 'experiments': experiments}


@dataclasses.dataclass
class MrunnerRun:
    """What ``python3 -m alpacka.runner --mrunner`` takes from a spec.

    Attributes:
        experiment: The experiment dict (see load_experiments).
        bindings: Its parameters as Gin bindings.
        n_experiments: How many experiments the spec holds.
    """
    experiment: Dict[str, Any]
    bindings: List[str]
    n_experiments: int


def load_for_mrunner(path: str) -> MrunnerRun:
    """Loads the experiment that ``--mrunner`` runs: the spec's first.

    Raises:
        ConfigError: the spec cannot be loaded, or a parameter has no Gin
            literal.
    """
    loaded = load_experiments(path)
    experiment = loaded['experiments'][0]
    try:
        spec_bindings = bindings_lib.parameters_to_bindings(
            experiment['parameters'])
    except bindings_lib.UnsupportedValueError as error:
        raise errors.ConfigError(f'{error} (in {path})') from error
    return MrunnerRun(experiment=experiment, bindings=spec_bindings,
                      n_experiments=len(loaded['experiments']))
