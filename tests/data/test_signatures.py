"""Tests of the signature walker (alpacka.data.signatures)."""

import collections

import numpy as np
import pytest

from alpacka import data

Pair = collections.namedtuple('Pair', ['first', 'second'])
_SIG = data.TensorSignature


def _nested_signature():
    return {'obs': (_SIG((4,)), _SIG((2, 3), np.int64)),
            'pair': Pair(first=_SIG(()), second=None),
            'mask': _SIG((1,))}


def test_leaves_come_in_nested_map_order_with_paths_and_names():
    leaves = data.leaves_with_paths(_nested_signature())

    assert [leaf.path for leaf in leaves] == [
        ('obs', 0), ('obs', 1), ('pair', 0), ('mask',)]
    assert [leaf.name for leaf in leaves] == [
        'obs_0', 'obs_1', 'pair_first', 'mask']
    assert [leaf.signature for leaf in leaves] == data.signature_leaves(
        _nested_signature())
    assert leaves[1].location == "['obs'][1]"


def test_a_single_signature_is_one_root_leaf():
    leaves = data.leaves_with_paths(_SIG((3,)))
    assert len(leaves) == 1
    leaf = leaves[0]
    assert leaf.path == () and leaf.name == ''
    assert leaf.location == 'the root'


def test_an_unsupported_node_is_refused():
    with pytest.raises(TypeError, match='Unsupported node 3'):
        data.leaves_with_paths({'a': 3})


def test_flatten_and_unflatten_round_trip():
    signature = _nested_signature()
    leaves = data.leaves_with_paths(signature)
    value = {'mask': 'm', 'obs': ['a', 'b'], 'pair': ('c', None),
             'ignored': 'x'}

    flat = data.flatten_like(leaves, value, 'inputs')

    assert flat == ['a', 'b', 'c', 'm']
    rebuilt = data.unflatten_like(signature, flat)
    assert rebuilt == {'obs': ('a', 'b'), 'pair': Pair('c', None),
                       'mask': 'm'}


def test_flatten_names_the_missing_leaf():
    leaves = data.leaves_with_paths({'a': _SIG(()), 'b': _SIG(())})
    with pytest.raises(ValueError, match="inputs .*no leaf 'b'"):
        data.flatten_like(leaves, {'a': 1}, 'inputs')


@pytest.mark.parametrize('value, message', [
    ({'obs': (1, 2), 'mask': 3}, r"at the root expected a dict with keys "
                                 r"\['mask', 'obs', 'pair'\]"),
    ({'obs': (1,), 'pair': (1, None), 'mask': 3},
     r"at \['obs'\] expected a sequence of 2 elements, got a tuple of 1"),
    ({'obs': 5, 'pair': (1, None), 'mask': 3},
     r"at \['obs'\] .*got an array of shape \(\)"),
])
def test_check_nesting_names_the_node_that_differs(value, message):
    with pytest.raises(ValueError, match=message):
        data.check_nesting(_nested_signature(), value, 'datapoints')


def test_check_nesting_accepts_dicts_in_any_key_order():
    data.check_nesting(_nested_signature(),
                       {'mask': 0, 'pair': (0, None), 'obs': (0, 0)},
                       'datapoints')


def test_check_batch_returns_the_batch_size():
    leaves = data.leaves_with_paths(_nested_signature())
    arrays = [np.zeros((5, 4)), np.zeros((5, 2, 3)), np.zeros(5),
              np.zeros((5, 1))]
    assert data.check_batch(leaves, arrays, 'inputs') == 5


def test_check_batch_names_the_leaf_with_a_wrong_shape():
    leaves = data.leaves_with_paths(_nested_signature())
    arrays = [np.zeros((5, 4)), np.zeros((5, 3, 2)), np.zeros(5),
              np.zeros((5, 1))]
    with pytest.raises(ValueError, match=r"inputs at \['obs'\]\[1\]: expected "
                                         r"shape \(B, 2, 3\).*got \(5, 3, 2\)"):
        data.check_batch(leaves, arrays, 'inputs')


def test_check_batch_refuses_a_scalar_and_differing_batch_sizes():
    leaves = data.leaves_with_paths({'a': _SIG(()), 'b': _SIG(())})
    with pytest.raises(ValueError, match=r"at \['a'\]: expected shape \(B\)"):
        data.check_batch(leaves, [np.float32(1), np.zeros(2)], 'inputs')
    with pytest.raises(ValueError, match=r"different batch sizes \(2 and 3 "
                                         r"at \['b'\]\)"):
        data.check_batch(leaves, [np.zeros(2), np.zeros(3)], 'inputs')


def test_signature_leaves_are_the_walkers_leaves_and_refuse_bad_nodes():
    signature = _nested_signature()
    assert data.signature_leaves(signature) == [
        _SIG((4,)), _SIG((2, 3), np.int64), _SIG(()), _SIG((1,))]
    assert data.signature_leaves(_SIG((3,))) == [_SIG((3,))]
    assert data.signature_leaves(None) == []
    with pytest.raises(TypeError, match='Unsupported node 3'):
        data.signature_leaves({'a': 3})


def test_signature_leaves_keeps_its_old_import_path():
    # pylint: disable=import-outside-toplevel
    from alpacka.data import types
    from alpacka.data.types import signature_leaves
    assert signature_leaves is data.signatures.signature_leaves
    assert types.signature_leaves is data.signature_leaves
    with pytest.raises(AttributeError, match='no attribute'):
        getattr(types, 'no_such_name')


def test_signature_map_keeps_namedtuples_and_treats_signatures_as_leaves():
    mapped = data.signature_map(lambda sig: sig.shape, _nested_signature())
    assert mapped == {'obs': ((4,), (2, 3)), 'pair': Pair((), None),
                      'mask': (1,)}
    assert isinstance(mapped['pair'], Pair)
