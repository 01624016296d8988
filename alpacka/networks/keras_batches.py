"""KerasNetwork's training batches: targets and masks checked and flattened.

A batch is ``(inputs, targets)`` or ``(inputs, targets, masks)``: targets
nested like the output signature; masks nested like it with a [B] weight per
head, or None (for all masks or for a head) meaning all ones.
"""

from typing import Any, List, Sequence, Tuple

import numpy as np

from alpacka import data


def label(leaf: data.SignatureLeaf) -> str:
    """' <name>' for a named leaf, '' for a root leaf (for messages)."""
    return f' {leaf.name!r}' if leaf.name else ''


def split_batch(batch: Any) -> Tuple[Any, Any, Any]:
    """``(inputs, targets, masks)`` of a batch (masks None if not given)."""
    if len(batch) == 3:
        return tuple(batch)
    if len(batch) == 2:
        inputs, targets = batch
        return inputs, targets, None
    raise ValueError(f'A training batch must be (inputs, targets) or '
                     f'(inputs, targets, masks); got {len(batch)} items.')


def flat_targets(leaves: Sequence[data.SignatureLeaf], output: Any,
                 targets: Any, batch_size: int) -> List[np.ndarray]:
    """One target array [B, ...] per head; floats and bools as float32.

    Raises:
        ValueError: targets are not nested like the output signature, or a
            head's targets lack the leading batch dimension.
    """
    if data.is_signature(output):
        flat = [targets]
    else:
        flat = data.flatten_like(leaves, targets, 'targets')
    converted = []
    for leaf, target in zip(leaves, flat):
        target = np.asarray(target)
        if target.dtype.kind == 'f' or target.dtype == np.bool_:
            target = target.astype(np.float32, copy=False)
        if target.ndim == 0 or len(target) != batch_size:
            raise ValueError(
                f'KerasNetwork training targets{label(leaf)}: expected a '
                f'leading batch dimension of {batch_size}, got shape '
                f'{target.shape}.')
        converted.append(target)
    return converted


def flat_masks(leaves: Sequence[data.SignatureLeaf], output: Any, masks: Any,
               batch_size: int) -> List[np.ndarray]:
    """One float32 mask [B] per head (ones where none is given).

    Raises:
        ValueError: a mask is not of shape [B].
    """
    if masks is None:
        flat = [None] * len(leaves)
    elif data.is_signature(output):
        flat = [masks]
    else:
        flat = data.flatten_like(leaves, masks, 'masks')
    ones = None
    mask_arrays = []
    for leaf, mask in zip(leaves, flat):
        if mask is None:
            if ones is None:
                ones = np.ones(batch_size, np.float32)
            mask_arrays.append(ones)
            continue
        mask = np.asarray(mask, dtype=np.float32)
        if mask.shape != (batch_size,):
            raise ValueError(
                f'KerasNetwork training mask{label(leaf)}: expected shape '
                f'({batch_size},), got {mask.shape}.')
        mask_arrays.append(mask)
    return mask_arrays
