"""Shared test set-up: quiet TensorFlow, fresh Gin config per test, Ray."""

import os
import shutil
import tempfile

# Before anything imports TensorFlow: keep its C++ log noise off the screen.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import gin  # pylint: disable=wrong-import-position
import pytest  # pylint: disable=wrong-import-position


@pytest.fixture(autouse=True)
def clear_gin_config():
    """Every test starts from an empty Gin config."""
    gin.clear_config()
    yield
    gin.clear_config()


# Ray's Unix sockets live under its temp dir, in paths about 65 characters
# longer than the dir itself, and such paths must stay below 107 characters.
_MAX_RAY_TEMP_DIR_LENGTH = 40


@pytest.fixture(scope='session')
def ray_cluster(tmp_path_factory):
    """A local Ray instance with 2 CPUs, started once for the tests that ask.

    Yields the ``ray`` module. Ray's files go under pytest's temp dir (or, if
    that path is too long for Ray's sockets, a short dir in /tmp). The
    instance is shut down at the end of the session if this fixture started
    it; RAY_ADDRESS is ignored, so tests never touch a real cluster.
    """
    import ray  # pylint: disable=import-outside-toplevel

    from alpacka.batch_steppers import ray as ray_stepper  # pylint: disable=import-outside-toplevel

    temp_dir = str(tmp_path_factory.mktemp('ray'))
    short_temp_dir = None
    if len(temp_dir) > _MAX_RAY_TEMP_DIR_LENGTH:
        temp_dir = short_temp_dir = tempfile.mkdtemp(prefix='ray', dir='/tmp')
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv('RAY_ADDRESS', raising=False)
        started = ray_stepper.init_ray(num_cpus=2, temp_dir=temp_dir)
    yield ray
    if started:
        ray.shutdown()
    if short_temp_dir is not None:
        shutil.rmtree(short_temp_dir, ignore_errors=True)
