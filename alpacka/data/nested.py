"""Operations on nested structures (pytrees) of arrays.

A nested structure is built of tuples, lists, dicts and namedtuples with arrays
(or any other objects) as leaves. ``None`` is treated as an empty subtree.
"""

from typing import Any, Callable, Sequence

import numpy as np


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, '_fields')


def is_leaf(x: Any) -> bool:
    """Whether x is a leaf of a nested structure."""
    return not isinstance(x, (tuple, list, dict)) and x is not None


def nested_map(fn: Callable, x: Any, stop_fn: Callable = is_leaf) -> Any:
    """Maps fn over the leaves of x, keeping its structure.

    Args:
        fn: Function applied to every leaf.
        x: Nested structure.
        stop_fn: Predicate telling which nodes are leaves.

    Returns:
        A structure like x with fn(leaf) in place of each leaf.
    """
    def rec(node):
        if node is None:
            return None
        if stop_fn(node):
            return fn(node)
        if _is_namedtuple(node):
            return type(node)(*(rec(child) for child in node))
        if isinstance(node, (tuple, list)):
            return type(node)(rec(child) for child in node)
        if isinstance(node, dict):
            return type(node)((key, rec(child)) for key, child in node.items())
        return fn(node)
    return rec(x)


def nested_zip(xs: Sequence[Any]) -> Any:
    """Zips a list of same-shaped structures into one structure of lists.

    Args:
        xs: Non-empty list of structures of the same shape.

    Returns:
        A structure of that shape whose leaves are lists of the
        corresponding leaves of xs.
    """
    first = xs[0]
    if first is None:
        return None
    if is_leaf(first):
        return list(xs)
    if _is_namedtuple(first):
        return type(first)(*(nested_zip([x[i] for x in xs])
                             for i in range(len(first))))
    if isinstance(first, (tuple, list)):
        return type(first)(nested_zip([x[i] for x in xs])
                           for i in range(len(first)))
    if isinstance(first, dict):
        return type(first)((key, nested_zip([x[key] for x in xs]))
                           for key in first)
    return list(xs)


def nested_unzip(x: Any) -> list:
    """Inverse of nested_zip: a structure of lists into a list of structures.

    Args:
        x: Structure whose leaves are lists of equal length.

    Returns:
        A list of structures, one per position in the leaf lists.
    """
    leaves = nested_leaves(x, stop_fn=_is_list)
    if not leaves:
        return []
    length = len(leaves[0])
    return [nested_map(lambda leaf, i=i: leaf[i], x, stop_fn=_is_list)
            for i in range(length)]


def _is_list(node: Any) -> bool:
    """The leaves of nested_zip's result: lists of the zipped leaves."""
    return isinstance(node, list)


def _combine_leaves(combine: Callable[[list], Any], xs: Sequence[Any]) -> Any:
    """Zips same-shaped structures and combines each list of leaves."""
    return nested_map(combine, nested_zip(xs), stop_fn=_is_list)


def nested_stack(xs: Sequence[Any]) -> Any:
    """Stacks same-shaped structures along a new leading axis.

    Args:
        xs: Non-empty list of structures of the same shape.

    Returns:
        A structure with np.stack-ed leaves.
    """
    return _combine_leaves(np.stack, xs)


def nested_unstack(x: Any) -> list:
    """Splits a structure of arrays along their leading axis.

    Args:
        x: Structure whose leaves share their leading dimension.

    Returns:
        A list of structures, one per index of the leading axis.
    """
    return nested_unzip(nested_map(list, x))


def nested_concatenate(xs: Sequence[Any]) -> Any:
    """Concatenates same-shaped structures of arrays along axis 0.

    Args:
        xs: Non-empty list of structures of the same shape.

    Returns:
        A structure with np.concatenate-d leaves.
    """
    return _combine_leaves(np.concatenate, xs)


def nested_leaves(x: Any, stop_fn: Callable = is_leaf) -> list:
    """Lists the leaves of a structure in a deterministic order.

    Args:
        x: Nested structure.
        stop_fn: Predicate telling which nodes are leaves (e.g. to treat
            TensorSignatures, which are tuples, as leaves).

    Returns:
        The leaves, depth first.
    """
    leaves = []
    nested_map(leaves.append, x, stop_fn=stop_fn)
    return leaves


def choose_leaf(x: Any) -> Any:
    """Returns the first leaf of a structure (e.g. to read a batch size)."""
    leaves = nested_leaves(x)
    if not leaves:
        raise ValueError('The structure has no leaves.')
    return leaves[0]
