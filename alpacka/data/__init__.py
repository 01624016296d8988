"""Data types, nested-structure (pytree) operations and the signature walker."""

from alpacka.data.nested import (choose_leaf, is_leaf, nested_concatenate,
                                 nested_leaves, nested_map, nested_stack,
                                 nested_unstack, nested_unzip, nested_zip)
from alpacka.data import signatures
from alpacka.data.signatures import (SignatureLeaf, check_batch, check_nesting,
                                      flatten_like, leaves_with_paths,
                                      signature_leaves, unflatten_like)
from alpacka.data.types import (Episode, Nested, NetworkRequest,
                                NetworkSignature, StepBatch, TensorSignature,
                                Transition,
                                is_network_request, is_signature,
                                signature_map, terminal_flags)

__all__ = [
    'Episode', 'Nested', 'NetworkRequest', 'NetworkSignature',
    'SignatureLeaf', 'check_batch', 'check_nesting', 'flatten_like',
    'leaves_with_paths', 'signatures', 'unflatten_like',
    'StepBatch', 'TensorSignature', 'Transition', 'choose_leaf', 'is_leaf',
    'is_network_request', 'is_signature', 'nested_concatenate',
    'nested_leaves', 'nested_map',
    'nested_stack', 'nested_unstack', 'nested_unzip', 'nested_zip',
    'signature_leaves', 'signature_map', 'terminal_flags',
]
