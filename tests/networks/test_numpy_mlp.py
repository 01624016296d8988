"""NumpyMLP on large batches: evaluated in row blocks (one BLAS thread per
product), with the same rows as the whole batch would give."""

import numpy as np

from alpacka.networks import numpy_mlp


def _mlp(rng, sizes=(4, 64, 64), heads=(1, 3)):
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [rng.standard_normal((fan_in, fan_out)).astype(np.float32),
                    rng.standard_normal(fan_out).astype(np.float32)]
    for units in heads:
        weights += [rng.standard_normal((sizes[-1], units)).astype(np.float32),
                    rng.standard_normal(units).astype(np.float32)]
    mlp = numpy_mlp.NumpyMLP(['relu'] * (len(sizes) - 1) +
                             ['linear'] * len(heads),
                             [(units,) for units in heads])
    mlp.set_weights(weights)
    return mlp, weights


def _reference(weights, x, n_hidden=2):
    """The MLP in float64, in one piece."""
    arrays = [np.asarray(w, np.float64) for w in weights]
    features = np.asarray(x, np.float64)
    for index in range(n_hidden):
        features = np.maximum(features @ arrays[2 * index] +
                              arrays[2 * index + 1], 0.0)
    heads = arrays[2 * n_hidden:]
    return [features @ heads[i] + heads[i + 1] for i in range(0, len(heads), 2)]


def test_large_batches_run_in_blocks_with_the_same_rows():
    rng = np.random.default_rng(0)
    mlp, weights = _mlp(rng)
    x = rng.standard_normal((200, 4)).astype(np.float32)
    outputs = mlp([x])
    assert [output.shape for output in outputs] == [(200, 1), (200, 3)]
    assert all(output.dtype == np.float32 for output in outputs)
    # Rows 0-63, 64-127, ... are the products of those blocks on their own.
    for start in range(0, 200, 64):
        block = mlp([x[start:start + 64]])
        for whole, part in zip(outputs, block):
            np.testing.assert_array_equal(whole[start:start + 64], part)
    for output, expected in zip(outputs, _reference(weights, x)):
        np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-4)


def test_small_batches_and_wide_layers_compute_the_mlp():
    rng = np.random.default_rng(1)
    # A 64-row batch is one block: the same as one product per layer.
    mlp, weights = _mlp(rng)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    for output, expected in zip(mlp([x]), _reference(weights, x)):
        np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-4)
    # 256x256 layers: a block under the threshold would be a few rows, so
    # the batch runs whole (and BLAS decides).
    wide, weights = _mlp(rng, sizes=(4, 256, 256), heads=(2,))
    x = rng.standard_normal((300, 4)).astype(np.float32)
    (output,) = wide([x])
    np.testing.assert_allclose(output, _reference(weights, x)[0], rtol=1e-3,
                               atol=1e-3)
