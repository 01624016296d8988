"""The validation mechanism, and that every public configurable declares
every parameter (a new configurable or parameter without a declaration
fails here)."""

import inspect
from typing import (Annotated, Any, Callable, Dict, Iterable, Optional, Sequence,
                    Tuple, Union)

import gin
import pytest
from walk_cases import registered_configurables

import alpacka  # pylint: disable=unused-import  # Registers the configurables.
from alpacka import errors
from alpacka.utils import validation


def test_every_public_configurable_is_declared():
    configurables = registered_configurables()
    # The walk must see the families it is meant to cover.
    modules = {full_name.rsplit('.', 1)[0] for full_name, _, _ in configurables}
    assert {'alpacka.agents', 'alpacka.envs', 'alpacka.networks',
            'alpacka.trainers', 'alpacka.batch_steppers', 'alpacka.runner',
            'alpacka.runner.callbacks', 'alpacka.utils.schedules'} <= modules
    undeclared = {
        full_name: validation.undeclared_parameters(full_name, fn)
        for full_name, _, fn in configurables}
    assert not {name: params for name, params in undeclared.items() if params}
    not_registered_here = [full_name for full_name, _, _ in configurables
                           if validation.declaration_of(full_name) is None]
    assert not not_registered_here, (
        'register these with alpacka.utils.validation.configurable')


def test_every_default_is_allowed_by_its_declaration():
    for full_name, _, fn in registered_configurables():
        declaration = validation.declaration_of(full_name)
        for parameter in inspect.signature(fn).parameters.values():
            hint = declaration.hints.get(parameter.name)
            if hint is None or parameter.default is inspect.Parameter.empty:
                continue
            assert validation.allows(parameter.default, hint), (
                full_name, parameter.name, parameter.default)


def test_a_configurable_without_hints_is_reported():
    def undeclared(count, rate: float = 0.1):
        return count, rate
    assert validation.undeclared_parameters(
        'tests.undeclared', undeclared) == ['count', 'rate']


@pytest.mark.parametrize('hint, understood', [
    (Optional[int], True),
    (Dict[str, Any], True),
    (Any, False),  # a bare Any declares nothing
    (Annotated[Any, validation.Unchecked('checked by Keras')], True),
    (Iterable[int], False),  # not checked, so not a declaration
])
def test_which_hints_are_declarations(hint, understood):
    assert validation.is_understood(hint) == understood


@pytest.mark.parametrize('value, hint, allowed', [
    (3, int, True),
    (True, int, False),  # bools are not ints
    (3, float, True),  # ints are accepted for numbers
    (False, float, False),
    ('3', float, False),
    (None, Optional[int], True),
    (0, Annotated[int, validation.AtLeast(1)], False),
    (None, Annotated[Optional[int], validation.AtLeast(1)], True),
    (0.0, Annotated[float, validation.GreaterThan(0)], False),
    (0.0, Annotated[float, validation.InRange(0, 1, low_open=True)], False),
    (1.0, Annotated[float, validation.InRange(0, 1, low_open=True)], True),
    ('gumbel', Annotated[str, validation.OneOf('puct', 'gumbel')], True),
    ('ucb', Annotated[str, validation.OneOf('puct', 'gumbel')], False),
    ((32, 32), Sequence[int], True),
    ([32, 'x'], Sequence[int], False),
    ('abc', Sequence[str], False),  # a string is not a list of strings
    ((3, 3), Tuple[int, int], True),
    ((3,), Tuple[int, int], False),
    (len, Callable, True),
    (3, Callable, False),
    ({'a': len}, Dict[str, Callable], True),
    ({'a': 1}, Dict[str, Callable], False),
    (3, Union[str, Callable], False),
])
def test_allows(value, hint, allowed):
    assert validation.allows(value, hint) == allowed


@validation.configurable(module='tests.validation')
class _Probe:
    """A configurable declared like the framework's."""

    def __init__(self, n_items: Annotated[int, validation.AtLeast(1)] = 2,
                 rate: Annotated[Optional[float],
                                 validation.GreaterThan(0)] = None):
        self.n_items = n_items
        self.rate = rate


@validation.configurable(module='tests.validation')
def _make_probe(probe_class: Callable = _Probe) -> _Probe:
    return probe_class()


def test_construction_checks_gin_bindings_in_one_paragraph():
    gin.bind_parameter('_Probe.rate', -0.5)
    with pytest.raises(errors.ConfigError) as caught:
        _make_probe()  # Two Gin wrappers augment the error on its way out.
    assert str(caught.value) == (
        '_Probe.rate = -0.5 is not allowed: it must be a number > 0, or None.')
    assert isinstance(caught.value, ValueError)


def test_construction_checks_arguments_passed_in_python():
    with pytest.raises(errors.ConfigError,
                       match=r"^_Probe.n_items = 'two' is not allowed: it "
                             r"must be an int >= 1\.$"):
        _Probe(n_items='two')
    assert _Probe(n_items=3, rate=1).rate == 1


def test_check_bindings_sees_bindings_before_anything_is_built():
    gin.parse_config(['_Probe.n_items = 0', '_make_probe.probe_class = @_Probe'])
    with pytest.raises(errors.ConfigError,
                       match=r'^_Probe.n_items = 0 is not allowed'):
        validation.check_bindings()


def test_check_bindings_names_the_scope_and_accepts_references():
    gin.parse_config(['_make_probe.probe_class = @_Probe',
                      'eval/_Probe.n_items = -1'])
    with pytest.raises(errors.ConfigError,
                       match=r'^eval/_Probe.n_items = -1 is not allowed'):
        validation.check_bindings()


def test_check_bindings_leaves_macros_to_construction():
    gin.parse_config(['N = 0', '_Probe.n_items = %N'])
    validation.check_bindings()
    with pytest.raises(errors.ConfigError, match=r'^_Probe.n_items = 0 '):
        _Probe()


def test_a_wrong_reference_type_is_refused():
    gin.parse_config(['_make_probe.probe_class = 3'])
    with pytest.raises(errors.ConfigError,
                       match=r'_make_probe.probe_class = 3 is not allowed: it '
                             r'must be a class or function \(in Gin: @name\)'):
        validation.check_bindings()
