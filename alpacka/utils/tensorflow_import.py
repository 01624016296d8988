"""Imports TensorFlow and Keras lazily and quietly.

Only the modules that need TensorFlow call this, so ``import alpacka`` (and a
run with DummyNetwork) never pays TensorFlow's start-up of several seconds.
"""

import contextlib
import importlib
import logging
import os
import sys
import tempfile
from typing import Any, Iterator, Tuple

from alpacka.utils import seeding


@contextlib.contextmanager
def _stderr_to_file() -> Iterator[None]:
    """Sends file descriptor 2 to a temporary file for the duration.

    TensorFlow's C++ runtime prints a few lines at import time (oneDNN
    notices, absl's "log messages before InitializeLog") that ignore
    TF_CPP_MIN_LOG_LEVEL. They are dropped; if the import fails, they are
    written back to stderr so the error keeps its context.
    """
    try:
        sys.stderr.flush()
        saved_fd = os.dup(2)
    except (OSError, AttributeError, ValueError):
        # No usable stderr (closed or replaced): nothing to keep quiet.
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved_fd, 2)
            capture.seek(0)
            os.write(2, capture.read())
            raise
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


def import_tensorflow() -> Tuple[Any, Any]:
    """Imports TensorFlow and Keras quietly; seeds Keras on its first import.

    Returns:
        The ``(tensorflow, keras)`` modules.
    """
    first_keras_import = 'keras' not in sys.modules
    if 'tensorflow' not in sys.modules:
        os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
        quiet = os.environ['TF_CPP_MIN_LOG_LEVEL'] not in ('', '0')
        with _stderr_to_file() if quiet else contextlib.nullcontext():
            importlib.import_module('tensorflow')
            importlib.import_module('keras')
        logging.getLogger('tensorflow').setLevel(logging.ERROR)
        logging.getLogger('absl').setLevel(logging.ERROR)
    # pylint: disable=import-outside-toplevel
    import tensorflow as tf
    import keras
    if first_keras_import:
        tf.autograph.set_verbosity(0)
        # Runner.seed reached seeding before Keras existed; apply it now so
        # model initialisation is reproducible.
        seeding.seed_keras()
    return tf, keras
