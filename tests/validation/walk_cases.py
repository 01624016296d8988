"""The cases the walking test tries: every parameter of every public
configurable, a wrong type and (where a range is declared) a value out of
range, as Gin literals."""

import inspect
import os
import typing
from typing import Any, Dict, List, Optional, Tuple

import gin

import alpacka  # pylint: disable=unused-import  # Registers the configurables.
from alpacka.utils import validation

# Wrong values to try, as Gin literals: the first one a parameter's
# declaration refuses is its wrong-type case.
_WRONG_TYPES = ("'abc'", '3.5', "{'k': 1}")


def registered_configurables() -> List[Tuple[str, Any, Any]]:
    """``(full Gin name, registered object, function or __init__)`` of every
    configurable Gin knows under ``alpacka.*``, sorted by name."""
    found = []
    for _, configurable in gin.config._REGISTRY.items():  # pylint: disable=protected-access
        if not configurable.module.startswith('alpacka'):
            continue
        wrapped = configurable.wrapped
        fn = (gin.config._find_class_construction_fn(wrapped)  # pylint: disable=protected-access
              if inspect.isclass(wrapped) else wrapped)
        found.append((f'{configurable.module}.{configurable.name}',
                      wrapped, fn))
    return sorted(set(found), key=lambda entry: entry[0])


def _out_of_range(hint: Any) -> Optional[str]:
    base, constraints = validation.split_annotated(hint)
    if not constraints and typing.get_origin(base) is typing.Union:
        # Optional[Annotated[...]]: the constraint sits inside.
        for arg in typing.get_args(base):
            if validation.split_annotated(arg)[1]:
                return _out_of_range(arg)
    for constraint in constraints:
        if isinstance(constraint, validation.OneOf):
            return "'no-such-choice'"
        if isinstance(constraint, validation.AtLeast):
            return repr(constraint.bound - 1)
        if isinstance(constraint, validation.GreaterThan):
            return repr(constraint.bound)
        if isinstance(constraint, validation.InRange):
            return repr(constraint.high if constraint.high_open
                        else constraint.high + 1)
    return None


def _value(literal: str) -> Any:
    return gin.config.parse_value(literal)


def parameter_cases() -> List[Tuple[str, str, str, str]]:
    """``(full name, parameter, kind, Gin literal)``: kind is 'type' or
    'range'; every declared parameter but the Unchecked ones."""
    cases = []
    for full_name, _, _ in registered_configurables():
        declaration = validation.declaration_of(full_name)
        for parameter, hint in sorted(declaration.hints.items()):
            wrong = [literal for literal in _WRONG_TYPES
                     if not validation.allows(_value(literal), hint)]
            if wrong:
                cases.append((full_name, parameter, 'type', wrong[0]))
            out_of_range = _out_of_range(hint)
            if out_of_range is not None:
                assert not validation.allows(_value(out_of_range), hint)
                cases.append((full_name, parameter, 'range', out_of_range))
    return cases


def unchecked_parameters() -> Dict[str, List[str]]:
    """``{full name: parameters}`` no wrong value exists for (Unchecked)."""
    tried = {(name, parameter) for name, parameter, _, _ in parameter_cases()}
    unchecked = {}
    for full_name, _, _ in registered_configurables():
        declaration = validation.declaration_of(full_name)
        for parameter in declaration.hints:
            if (full_name, parameter) not in tried:
                unchecked.setdefault(full_name, []).append(parameter)
    return unchecked


def snapshot(directory: str) -> Dict[str, bytes]:
    """``{relative path: bytes}`` of every file under directory (and
    ``{path/: b''}`` for every directory)."""
    files = {}
    for root, dirs, names in os.walk(directory):
        for name in dirs:
            files[os.path.relpath(os.path.join(root, name), directory) +
                  '/'] = b''
        for name in names:
            path = os.path.join(root, name)
            with open(path, 'rb') as file:
                files[os.path.relpath(path, directory)] = file.read()
    return files
