"""Shared test set-up: quiet TensorFlow, fresh Gin config per test."""

import os

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
