"""alpacka.utils.gin_config: config.gin's text and the config Ray workers parse."""

import logging
import os

import gin
import pytest

from alpacka.utils import gin_config
from alpacka.utils import schedules

CONFIG = """
import alpacka.utils.schedules

LinearAnnealing.max_value = 1.0
LinearAnnealing.n_epochs = 4
RsqrtDecay.max_value = 3.0
"""


def _configure_and_call_linear_annealing_only():
    gin.parse_config(CONFIG)
    # The rest comes from Gin.
    schedules.LinearAnnealing(min_value=0.5)  # pylint: disable=no-value-for-parameter


def test_config_blocks_splits_gin_text_by_configurable():
    gin.parse_config(CONFIG)
    blocks = gin_config.config_blocks(gin.config_str())
    assert set(blocks) == {'Parameters for LinearAnnealing',
                           'Parameters for RsqrtDecay'}
    assert blocks['Parameters for RsqrtDecay'].endswith(
        'RsqrtDecay.max_value = 3.0')


def test_operative_config_appends_the_bindings_this_process_did_not_use():
    _configure_and_call_linear_annealing_only()
    text = gin_config.operative_config_text()
    operative, unused = text.split(gin_config.UNUSED_BINDINGS_HEADER)
    # Used here: with the values passed in code and the bound ones.
    assert 'LinearAnnealing.max_value = 1.0' in operative
    assert 'LinearAnnealing.n_epochs = 4' in operative
    assert 'RsqrtDecay' not in operative
    # Used elsewhere (e.g. in Ray workers): appended with the imports.
    assert 'import alpacka.utils.schedules' in unused
    assert 'RsqrtDecay.max_value = 3.0' in unused
    assert 'LinearAnnealing' not in unused


def test_operative_config_reproduces_the_run():
    _configure_and_call_linear_annealing_only()
    text = gin_config.operative_config_text()
    gin.clear_config()
    gin.parse_config(text)
    assert gin.query_parameter('LinearAnnealing.max_value') == 1.0
    assert gin.query_parameter('RsqrtDecay.max_value') == 3.0


def test_operative_config_without_unused_bindings_has_no_appendix():
    gin.parse_config('LinearAnnealing.max_value = 1.0\n'
                     'LinearAnnealing.n_epochs = 4\n')
    schedules.LinearAnnealing(min_value=0.5)  # pylint: disable=no-value-for-parameter
    text = gin_config.operative_config_text()
    assert gin_config.UNUSED_BINDINGS_HEADER not in text
    assert text == gin.operative_config_str().strip() + '\n'


@pytest.mark.parametrize('operative', [False, True])
def test_write_config_writes_the_chosen_text_atomically(tmp_path, operative):
    _configure_and_call_linear_annealing_only()
    path = tmp_path / 'config.gin'
    path.write_text('an older config')
    gin_config.write_config(str(path), operative=operative)
    expected = (gin_config.operative_config_text() if operative
                else gin.config_str())
    assert path.read_text() == expected
    assert os.listdir(tmp_path) == ['config.gin']


def _main_fn(value=0):
    return value


def test_workers_get_the_text_and_the_modules_of_bound_and_referenced_configurables():
    _main_fn.__module__ = '__main__'  # Like a script's own function.
    gin.external_configurable(_main_fn, name='main_fn', module='test')
    gin.parse_config("""
        import alpacka.envs
        LinearAnnealing.max_value = 1.0
        LinearAnnealing.n_epochs = @alpacka.envs.CartPole
        test.main_fn.value = 3
    """)
    worker_config = gin_config.config_for_workers()
    assert worker_config.config_str == gin.config_str()
    assert worker_config.modules == sorted(worker_config.modules)
    # The bound configurable's, the referenced one's; __main__ is left out
    # (a worker cannot import the driver's script).
    assert 'alpacka.utils.schedules' in worker_config.modules
    assert schedules.LinearAnnealing.__module__ in worker_config.modules
    assert 'alpacka.envs.classic_control' in worker_config.modules
    assert '__main__' not in worker_config.modules


def test_a_binding_without_text_form_is_named_in_a_warning(caplog):
    gin.bind_parameter('LinearAnnealing.max_value', object())
    gin.bind_parameter('LinearAnnealing.n_epochs', 4)
    with caplog.at_level(logging.WARNING, logger=gin_config.__name__):
        worker_config = gin_config.config_for_workers()
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert 'LinearAnnealing.max_value' in warnings[0]
    assert 'does not reach Ray workers' in warnings[0]
    assert 'LinearAnnealing.n_epochs = 4' in worker_config.config_str


def test_if_gin_internals_change_workers_get_the_text_alone(monkeypatch,
                                                            caplog):
    gin.parse_config(CONFIG)

    def changed(*args, **kwargs):
        raise AttributeError('no such thing in this Gin version')
    monkeypatch.setattr(gin.config, 'iterate_references', changed)
    with caplog.at_level(logging.WARNING, logger=gin_config.__name__):
        worker_config = gin_config.config_for_workers()
    assert not worker_config.modules
    assert worker_config.config_str == gin.config_str()
    (warning,) = [record.getMessage() for record in caplog.records]
    assert 'Could not list the modules' in warning
    assert 'no such thing in this Gin version' in warning


def test_a_worker_imports_the_modules_or_says_which_failed():
    gin_config.import_modules(['alpacka.utils.schedules'])
    with pytest.raises(RuntimeError,
                       match="could not import 'no_such_module_xyz'"):
        gin_config.import_modules(['no_such_module_xyz'])


def test_a_worker_replaces_its_config_by_the_drivers():
    gin.parse_config('LinearAnnealing.max_value = 9.0')
    gin_config.parse_in_worker('RsqrtDecay.max_value = 2.0')
    assert gin.query_parameter('RsqrtDecay.max_value') == 2.0
    with pytest.raises(ValueError):
        gin.query_parameter('LinearAnnealing.max_value')


def test_a_config_the_worker_cannot_parse_raises_a_clear_error():
    with pytest.raises(RuntimeError,
                       match='could not parse the driver\'s Gin config'):
        gin_config.parse_in_worker('NotDefinedAnywhere.value = 1')
