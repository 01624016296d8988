"""Walking nested signatures: leaves with their paths, values read and rebuilt.

A nested signature is a TensorSignature, or tuples, lists, namedtuples and
dicts of them (``None`` is an empty subtree). Networks, replay buffers and
trainers all need the same four things of one: its leaves in order with where
they sit, the matching leaves of a value nested like it, the value rebuilt
from flat leaves, and a check that every leaf carries one shared batch
dimension, with errors that name the offending leaf. They live here, once.

Leaves are ordered as ``alpacka.data.nested_map`` visits them: tuple and list
order, dict insertion order.
"""

from typing import Any, List, NamedTuple, Sequence

import numpy as np

from alpacka.data import types


class SignatureLeaf(NamedTuple):
    """One TensorSignature inside a nested signature.

    Attributes:
        path: Keys and indices leading from the root to the leaf (namedtuple
            fields are given by index).
        name: The path joined with ``_``, with namedtuple field names ('' for
            a root leaf): a name for a network head or a Keras layer.
        signature: The leaf's TensorSignature.
    """
    path: tuple
    name: str
    signature: types.TensorSignature

    @property
    def location(self) -> str:
        """Where the leaf sits, for messages: ``"['obs'][0]"`` or 'the root'."""
        return path_text(self.path)


def path_text(path: Sequence[Any]) -> str:
    """A path as subscripts, ``"['obs'][0]"``; ``'the root'`` for ()."""
    if not path:
        return 'the root'
    return ''.join(f'[{key!r}]' for key in path)


def _unsupported_node(node: Any) -> TypeError:
    return TypeError(f'Unsupported node {node!r} in a signature: expected a '
                     f'TensorSignature, tuple, list, dict or None.')


def leaves_with_paths(signature: Any) -> List[SignatureLeaf]:
    """Lists the TensorSignature leaves of a nested signature, in order.

    Args:
        signature: A TensorSignature or a tuple/list/dict/namedtuple of them.

    Returns:
        The leaves, ordered as data.nested_map visits them.

    Raises:
        TypeError: a node is none of the above.
    """
    leaves = []

    def visit(node, path, names):
        if node is None:
            return
        if types.is_signature(node):
            leaves.append(SignatureLeaf(path, '_'.join(names), node))
        elif isinstance(node, tuple) and hasattr(node, '_fields'):
            for index, (field, child) in enumerate(zip(node._fields, node)):
                visit(child, path + (index,), names + (field,))
        elif isinstance(node, (tuple, list)):
            for index, child in enumerate(node):
                visit(child, path + (index,), names + (str(index),))
        elif isinstance(node, dict):
            for key, child in node.items():
                visit(child, path + (key,), names + (str(key),))
        else:
            raise _unsupported_node(node)

    visit(signature, (), ())
    return leaves


def signature_leaves(signature: Any) -> List[types.TensorSignature]:
    """The TensorSignatures of a nested signature, in leaf order.

    Args:
        signature: A TensorSignature or a tuple/list/dict/namedtuple of them.

    Returns:
        The leaves' signatures, without their paths (see leaves_with_paths).

    Raises:
        TypeError: a node is not a signature, tuple, list, dict or None.
    """
    return [leaf.signature for leaf in leaves_with_paths(signature)]


def describe(value: Any) -> str:
    """A short description of a node of a nested value, for messages."""
    if isinstance(value, dict):
        return f'a dict with keys {sorted(map(str, value))}'
    if isinstance(value, (tuple, list)):
        return f'a {type(value).__name__} of {len(value)} elements'
    if value is None:
        return 'None'
    return f'an array of shape {np.shape(value)}'


def check_nesting(signature: Any, value: Any, what: str) -> None:
    """Checks that value is nested exactly like signature.

    Dicts must have the signature's keys (in any order) and sequences its
    length; a leaf of the signature may stand against anything.

    Args:
        signature: A nested signature.
        value: The structure to check.
        what: What value is, for messages (e.g. 'added datapoints').

    Raises:
        ValueError: naming the node that differs, what the signature has
            there and what value has.
    """
    def visit(node, sub_value, path):
        if node is None or types.is_signature(node):
            return
        if isinstance(node, dict):
            if not isinstance(sub_value, dict) or set(sub_value) != set(node):
                raise ValueError(
                    f'The {what} are not nested like the signature: at '
                    f'{path_text(path)} expected a dict with keys '
                    f'{sorted(map(str, node))}, got {describe(sub_value)}.')
            for key, child in node.items():
                visit(child, sub_value[key], path + (key,))
        elif isinstance(node, (tuple, list)):
            if (not isinstance(sub_value, (tuple, list))
                    or len(sub_value) != len(node)):
                raise ValueError(
                    f'The {what} are not nested like the signature: at '
                    f'{path_text(path)} expected a sequence of {len(node)} '
                    f'elements, got {describe(sub_value)}.')
            for index, (child, sub_child) in enumerate(zip(node, sub_value)):
                visit(child, sub_child, path + (index,))
        else:
            raise _unsupported_node(node)

    visit(signature, value, ())


def flatten_like(leaves: Sequence[SignatureLeaf], value: Any,
                 what: str) -> list:
    """Reads the leaves of value at the paths of a signature's leaves.

    Extra keys of value's dicts are ignored (check_nesting refuses them).

    Args:
        leaves: The signature's leaves (see leaves_with_paths).
        value: A structure nested like the signature.
        what: What value is, for messages (e.g. 'inputs').

    Returns:
        The values at the leaves' paths, in order.

    Raises:
        ValueError: value has no node at a leaf's path.
    """
    flat = []
    for leaf in leaves:
        node = value
        try:
            for key in leaf.path:
                node = node[key]
        except (KeyError, IndexError, TypeError) as error:
            raise ValueError(
                f'The {what} are not nested like the signature: found no '
                f'leaf {leaf.name!r} (path {leaf.path}).') from error
        flat.append(node)
    return flat


def unflatten_like(signature: Any, flat: Sequence[Any]) -> Any:
    """Inverse of flatten_like: flat values put into the signature's nesting.

    Args:
        signature: A nested signature.
        flat: One value per leaf, in leaf order.

    Returns:
        A structure like signature with the values in place of its leaves.
    """
    iterator = iter(flat)
    return types.signature_map(lambda _: next(iterator), signature)


def shape_text(shape: Sequence[Any]) -> str:
    """``'(B, 4)'`` for shape (4,): a leaf's shape with its batch axis."""
    return '(' + ', '.join(['B'] + [str(dim) for dim in shape]) + ')'


def check_batch(leaves: Sequence[SignatureLeaf], arrays: Sequence[np.ndarray],
                what: str) -> int:
    """Checks that every array is [B, *leaf shape] with one shared B.

    Args:
        leaves: The signature's leaves.
        arrays: One numpy array per leaf, in leaf order.
        what: What the arrays are, for messages (e.g. 'KerasNetwork input').

    Returns:
        B, the batch size (None for no leaves).

    Raises:
        ValueError: naming the leaf whose shape is wrong, or the two batch
            sizes that differ.
    """
    batch_size = None
    for leaf, array in zip(leaves, arrays):
        expected = tuple(leaf.signature.shape)
        if array.ndim == 0 or array.shape[1:] != expected:
            at = f' at {leaf.location}' if leaf.path else ''
            raise ValueError(
                f'{what}{at}: expected shape {shape_text(expected)} (B = batch '
                f'size, signature shape {expected}), got {array.shape}.')
        if batch_size is None:
            batch_size = array.shape[0]
        elif array.shape[0] != batch_size:
            raise ValueError(
                f'{what}: leaves have different batch sizes ({batch_size} and '
                f'{array.shape[0]} at {leaf.location}).')
    return batch_size
