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
