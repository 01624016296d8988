"""Declared argument checks for Gin configurables: type hints plus ranges.

A configurable states what each parameter allows in its signature::

    @validation.configurable(module='alpacka.runner')
    class Runner:
        def __init__(self, n_envs: Annotated[int, validation.AtLeast(1)] = 16,
                     seed: Optional[int] = None, ...):

``configurable`` registers the class (or function) with Gin, like
``gin.configurable``, and checks every argument against its hint when the
object is built, after Gin has supplied its bindings. ``check_bindings``
checks the parsed Gin bindings against the same declarations before anything
is built, so a wrong binding of a configurable that is only called later (a
loss, a schedule, a class built inside a Ray worker) fails at start-up too.

Both raise ArgumentError, a ConfigError with one message, e.g.
``Runner.n_envs = 0 is not allowed: it must be an int >= 1.``

Understood hints: ``int`` (bools are not ints), ``float`` (ints are
accepted), ``str``, ``bool``, ``None``, ``Optional``/``Union``, ``Callable``
(classes and functions, e.g. ``@name`` in Gin), ``Sequence``/``List``/
``Tuple``, ``Dict``/``Mapping``, classes (``isinstance``), ``Literal``, and
``Annotated[hint, constraint, ...]`` with the constraints below.
``Annotated[Any, Unchecked('why')]`` states that a parameter is deliberately
not checked here. A bare ``Any`` (or no hint) is not a declaration:
``undeclared_parameters`` lists such parameters, and the test of every
configurable fails on them.

Gin plumbing only, no RL. One private Gin name is read, in check_bindings:
``gin.config._CONFIG``, the parsed bindings (see alpacka.utils.gin_config).
"""

import collections.abc
import dataclasses
import functools
import inspect
import numbers
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

import gin

from alpacka import errors

T = TypeVar('T')


class ArgumentError(errors.ConfigError, ValueError):
    """An argument that its configurable's declaration does not allow.

    Gin re-raises exceptions from inside a configurable as a subclass of
    their type whose ``str`` appends "In call to configurable ..." lines;
    every subclass of ArgumentError (so also Gin's) keeps the one paragraph.
    """

    def __init__(self, paragraph: str):
        super().__init__(paragraph)
        self.paragraph = paragraph

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Gin's proxy defines its own __str__; restore the paragraph. On the
        # proxy, `paragraph` is looked up on the original exception.
        cls.__str__ = ArgumentError.__str__

    def __str__(self) -> str:
        return self.paragraph


# Constraints -------------------------------------------------------------


class Constraint:
    """A condition on a (non-None) value, stated in Annotated hints."""

    def allows(self, value: Any) -> bool:
        """Whether value meets the condition."""
        raise NotImplementedError

    def describe(self) -> str:
        """The condition as text, e.g. ``>= 1``."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class AtLeast(Constraint):
    """value >= bound."""
    bound: float

    def allows(self, value: Any) -> bool:
        return value >= self.bound

    def describe(self) -> str:
        return f'>= {self.bound}'


@dataclasses.dataclass(frozen=True)
class GreaterThan(Constraint):
    """value > bound."""
    bound: float

    def allows(self, value: Any) -> bool:
        return value > self.bound

    def describe(self) -> str:
        return f'> {self.bound}'


@dataclasses.dataclass(frozen=True)
class InRange(Constraint):
    """low <= value <= high; ``low_open``/``high_open`` exclude the ends."""
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def allows(self, value: Any) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        return (f'in {"(" if self.low_open else "["}{self.low}, {self.high}'
                f'{")" if self.high_open else "]"}')


class OneOf(Constraint):
    """value is one of the given values."""

    def __init__(self, *values: Any):
        self.values = values

    def allows(self, value: Any) -> bool:
        return value in self.values

    def describe(self) -> str:
        return 'one of ' + ', '.join(repr(v) for v in self.values)


@dataclasses.dataclass(frozen=True)
class Unchecked(Constraint):
    """Marks ``Annotated[Any, Unchecked(reason)]``: deliberately unchecked
    here (e.g. a Keras optimizer object, which Keras checks)."""
    reason: str

    def allows(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return self.reason


# Types -------------------------------------------------------------------

_NoneType = type(None)
# The generic containers allows() checks.
_CONTAINERS = (list, tuple, dict, collections.abc.Sequence,
               collections.abc.Mapping)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def split_annotated(hint: Any) -> Tuple[Any, List[Constraint]]:
    """``Annotated[base, *constraints]`` -> ``(base, constraints)``; other
    hints -> ``(hint, [])``."""
    if typing.get_origin(hint) is typing.Annotated:
        base, *extras = typing.get_args(hint)
        return base, [e for e in extras if isinstance(e, Constraint)]
    return hint, []


def is_understood(hint: Any) -> bool:
    """Whether hint is a declaration this module checks (see the module
    docstring); a bare Any is not."""
    base, constraints = split_annotated(hint)
    if base is Any:
        return any(isinstance(c, Unchecked) for c in constraints)
    origin = typing.get_origin(base)
    if origin is typing.Union:
        return all(is_understood(arg) for arg in typing.get_args(base))
    if origin is typing.Literal:
        return True
    if origin in (collections.abc.Callable, type):
        return True
    if origin in _CONTAINERS:
        # Items may be anything: Dict[str, Any] is a declaration.
        return all(is_understood(arg) for arg in typing.get_args(base)
                   if arg not in (Ellipsis, Any))
    # Other generics (Iterable[int], ...) are not checked, so not understood.
    return origin is None and (base is None or inspect.isclass(base))


def allows(value: Any, hint: Any) -> bool:
    """Whether a declaration allows value.

    Args:
        value: An argument.
        hint: Its parameter's hint (see the module docstring).

    Returns:
        Whether value has the hint's type and meets its constraints.
    """
    base, constraints = split_annotated(hint)
    if value is _UNKNOWN:
        return True
    if not _matches_type(value, base):
        return False
    return value is None or all(c.allows(value) for c in constraints)


def _matches_type(value: Any, hint: Any) -> bool:  # pylint: disable=too-many-return-statements
    if hint is Any:
        return True
    if hint is None or hint is _NoneType:
        return value is None
    if hint is int:
        return _is_int(value)
    if hint is float:
        return _is_float(value)
    if hint is bool:
        return isinstance(value, bool)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        return any(allows(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if hint is Callable or origin is collections.abc.Callable:
        return callable(value)
    if origin is type:
        return inspect.isclass(value)
    if origin in (list, tuple, collections.abc.Sequence):
        if isinstance(value, (str, bytes)) or not isinstance(
                value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(
                allows(v, a) for v, a in zip(value, args))
        return not args or all(allows(v, args[0]) for v in value)
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, collections.abc.Mapping):
            return False
        key_hint, value_hint = args or (Any, Any)
        return all(allows(k, key_hint) and allows(v, value_hint)
                   for k, v in value.items())
    if inspect.isclass(hint):
        return isinstance(value, hint)
    return True


_NAMES = {int: 'an int', float: 'a number', str: 'a string',
          bool: 'True or False', _NoneType: 'None'}


def describe(hint: Any) -> str:
    """What a hint allows, as text, e.g. ``an int >= 1, or None``."""
    base, constraints = split_annotated(hint)
    origin, args = typing.get_origin(base), typing.get_args(base)
    if origin is typing.Union:
        parts = [describe(a) for a in args if a is not _NoneType]
        if constraints:
            parts = [f'{p} {" and ".join(c.describe() for c in constraints)}'
                     for p in parts]
        if _NoneType in args:
            parts.append('None')
        return ', or '.join(parts)
    if base is None:
        text = 'None'
    elif base in _NAMES:
        text = _NAMES[base]
    elif origin is typing.Literal:
        text = 'one of ' + ', '.join(repr(a) for a in args)
    elif base is Callable or origin is collections.abc.Callable:
        text = 'a class or function (in Gin: @name)'
    elif origin is type:
        text = 'a class (in Gin: @name)'
    elif origin in (list, tuple, dict, collections.abc.Sequence,
                    collections.abc.Mapping):
        text = _describe_container(origin, args)
    elif base is Any:
        return ' and '.join(c.describe() for c in constraints) or 'anything'
    elif inspect.isclass(base):
        article = 'an' if base.__name__[:1] in 'AEIOU' else 'a'
        text = f'{article} {base.__name__}'
    else:
        text = str(base)
    if any(isinstance(c, OneOf) for c in constraints):
        # The choices say the type.
        return ' and '.join(c.describe() for c in constraints)
    if constraints:
        text += ' ' + ' and '.join(c.describe() for c in constraints)
    return text


def _describe_container(origin: Any, args: tuple) -> str:
    if origin in (dict, collections.abc.Mapping):
        parts = [f'{what}: {describe(arg)}'
                 for what, arg in zip(('keys', 'values'), args)
                 if arg is not Any]
        return 'a dict' + (f' ({"; ".join(parts)})' if parts else '')
    if origin is tuple and args and args[-1] is not Ellipsis:
        return 'a tuple (' + ', '.join(describe(a) for a in args) + ')'
    return 'a list or tuple' + (f' of items each {describe(args[0])}'
                                if args and args[0] is not Any else '')


def _message(owner: str, name: str, value: Any, hint: Any) -> str:
    shown = _shown(value)
    return (f'{owner}.{name} = {shown} is not allowed: it must be '
            f'{describe(hint)}.')


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'


# Declarations ------------------------------------------------------------


@dataclasses.dataclass
class Declaration:
    """The declared parameters of one configurable.

    Attributes:
        name: Its name in messages (the class or function name).
        hints: ``{parameter: hint}`` for every parameter with a hint.
        parameters: Every parameter name but self, *args and **kwargs.
    """
    name: str
    hints: Dict[str, Any]
    parameters: List[str]

    def check(self, arguments: Dict[str, Any], scope: str = '') -> None:
        """Checks arguments (``{parameter: value}``) against the hints.

        Raises:
            ArgumentError: a value does not fit its parameter's hint.
        """
        owner = f'{scope}/{self.name}' if scope else self.name
        for name, value in arguments.items():
            hint = self.hints.get(name)
            if hint is not None and not allows(value, hint):
                raise ArgumentError(_message(owner, name, value, hint))


# Declarations by Gin's full name, e.g. 'alpacka.runner.Runner'.
_DECLARATIONS: Dict[str, Declaration] = {}


def _declare(fn: Callable, name: str) -> Declaration:
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(inspect.unwrap(fn), include_extras=True)
    parameters = [p.name for p in list(signature.parameters.values())
                  if p.name != 'self' and p.kind not in (
                      p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return Declaration(name, {p: hints[p] for p in parameters if p in hints},
                       parameters)


def _validating(fn: Callable, declaration: Declaration) -> Callable:
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = signature.bind_partial(*args, **kwargs)
        bound.arguments.pop('self', None)
        declaration.check(bound.arguments)
        return fn(*args, **kwargs)

    # Gin reads positional names with getfullargspec, which does not follow
    # __wrapped__ but honours __signature__.
    wrapper.__signature__ = signature
    return wrapper


def _construction_fn(cls: type) -> Callable:
    for base in inspect.getmro(cls):
        if '__init__' in base.__dict__:
            return base.__dict__['__init__']
    raise TypeError(f'{cls.__name__} has no __init__ to validate.')


def configurable(module: str, name: Optional[str] = None) -> Callable[[T], T]:
    """Like ``gin.configurable(name, module=module)``, and checks arguments.

    Every call (a class's construction) checks its arguments, Gin's
    bindings included, against the signature's hints.

    Args:
        module: Gin module, e.g. ``alpacka.agents``.
        name: Gin name (default: the class or function name).

    Returns:
        The decorator.
    """
    def decorate(fn_or_cls: T) -> T:
        gin_name = name or fn_or_cls.__name__
        if inspect.isclass(fn_or_cls):
            init = _construction_fn(fn_or_cls)
            declaration = _declare(init, gin_name)
            fn_or_cls.__init__ = _validating(init, declaration)
            registered = gin.configurable(gin_name, module=module)(fn_or_cls)
        else:
            declaration = _declare(fn_or_cls, gin_name)
            registered = gin.configurable(gin_name, module=module)(
                _validating(fn_or_cls, declaration))
        _DECLARATIONS[f'{module}.{gin_name}'] = declaration
        return registered
    return decorate


def external_configurable(fn: Callable, module: str) -> None:
    """Registers fn with Gin without wrapping it (``gin.external_configurable``);
    for functions on hot paths. Its bindings are checked by check_bindings
    only, not at every call.

    Args:
        fn: The function; the module's name for it stays unwrapped.
        module: Gin module.
    """
    gin.external_configurable(fn, module=module)
    _DECLARATIONS[f'{module}.{fn.__name__}'] = _declare(fn, fn.__name__)


def declaration_of(full_name: str) -> Optional[Declaration]:
    """The Declaration of a configurable by Gin's full name
    (``module.name``), or None if it was not declared here."""
    return _DECLARATIONS.get(full_name)


def undeclared_parameters(full_name: str, fn: Callable) -> List[str]:
    """Parameters of a registered configurable without an understood hint.

    Args:
        full_name: Gin's ``module.name``.
        fn: The registered function, or a class's ``__init__``.

    Returns:
        The parameter names (all of them if the configurable was not
        registered through this module).
    """
    declaration = _DECLARATIONS.get(full_name) or _declare(fn, full_name)
    if full_name not in _DECLARATIONS:
        return list(declaration.parameters)
    return [p for p in declaration.parameters
            if p not in declaration.hints or
            not is_understood(declaration.hints[p])]


# Parsed bindings ---------------------------------------------------------

# Stands for a value only known when called (@name(), %MACRO): any hint fits.
_UNKNOWN = object()


def _as_passed(value: Any) -> Any:
    """A parsed binding as the configurable will receive it: ``@name`` is
    the configurable itself; ``@name()`` and macros are unknown yet."""
    if isinstance(value, gin.config.ConfigurableReference):
        return _UNKNOWN if value.evaluate else value.configurable.wrapper
    if isinstance(value, (list, tuple)):
        items = [_as_passed(v) for v in value]
        return type(value)(items) if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {k: _as_passed(v) for k, v in value.items()}
    return value


def check_bindings() -> None:
    """Checks every parsed Gin binding of a declared configurable.

    Raises:
        ArgumentError: a bound value does not fit its parameter's hint.
    """
    bindings = dict(gin.config._CONFIG)  # pylint: disable=protected-access
    for (scope, selector), parameters in bindings.items():
        try:
            match = gin.config._REGISTRY.get_match(selector)  # pylint: disable=protected-access
        except (KeyError, ValueError):
            continue
        if match is None:
            continue
        declaration = _DECLARATIONS.get(f'{match.module}.{match.name}')
        if declaration is None:
            continue
        declaration.check({name: _as_passed(value)
                           for name, value in parameters.items()
                           if value is not gin.REQUIRED}, scope)
