"""alpacka.utils.gin_errors: Gin's parse errors as one paragraph with a hint."""

import gin
import pytest

import alpacka  # pylint: disable=unused-import  # Registers the configurables.
from alpacka.utils import gin_errors


def _explained(binding):
    with pytest.raises(Exception) as caught:
        gin.parse_config_files_and_bindings([], [binding],
                                            finalize_config=False)
    return gin_errors.explain(caught.value)


def test_a_misspelt_parameter_gets_the_closest_name():
    assert _explained('ShootingAgent.n_rolouts = 3') == (
        "Configurable 'ShootingAgent' doesn't have a parameter named "
        "'n_rolouts'. In a --config binding, line 1: "
        "'ShootingAgent.n_rolouts = 3'. Did you mean "
        "'ShootingAgent.n_rollouts'?")


def test_a_misspelt_configurable_gets_the_closest_name():
    assert _explained('Runnr.n_envs = 3').endswith("Did you mean 'Runner'?")


def test_a_syntax_error_names_the_line():
    assert _explained('Runner.n_envs = 3 3') == (
        "Expected newline. In a --config binding, line 1, column 19: "
        "'Runner.n_envs = 3 3'.")


def test_a_far_off_parameter_lists_the_parameters():
    message = _explained('RandomAgent.zzzzzz = 1')
    assert "doesn't have a parameter named 'zzzzzz'" in message
    assert 'Its parameters are:' in message


def test_no_suggestion_for_other_messages():
    assert gin_errors.suggestion('something else went wrong') == ''


def test_an_unquoted_string_says_what_a_value_may_be():
    assert _explained('Runner.n_envs = abc') == (
        "'abc' is not a value Gin can read: quote a string ('abc'), put @ "
        "before a configurable (@abc), or write a number, True/False/None, "
        "a list, tuple or dict. In a --config binding, line 1, column 17: "
        "'Runner.n_envs = abc'.")


def test_a_bracket_left_open_on_an_earlier_line_is_named(tmp_path):
    config = tmp_path / 'open.gin'
    config.write_text('Runner.n_envs = (\nRunner.n_epochs = 1\n',
                      encoding='utf-8')
    with pytest.raises(Exception) as caught:
        gin.parse_config_files_and_bindings([str(config)], [],
                                            finalize_config=False)
    assert gin_errors.explain(caught.value) == (
        f"The '(' on line 1, column 17 is never closed, so Gin read on and "
        f"found 'Runner' where a value belongs; close the bracket. In "
        f"{config}, line 2, column 1: 'Runner.n_epochs = 1'.")
