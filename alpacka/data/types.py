"""Data types passed between envs, agents, networks and trainers."""

import importlib
import typing
from typing import Any, List, NamedTuple, Optional

import numpy as np

from alpacka.data import nested


class Transition(NamedTuple):
    """One step of interaction, or (in a batch) the same fields stacked.

    ``done`` is ``terminated or truncated``; trainers that bootstrap must use
    ``terminated`` alone (a truncated episode still has a future).
    """
    observation: Any
    action: Any
    reward: Any
    done: Any
    next_observation: Any
    agent_info: Any
    terminated: Any = None
    truncated: Any = None


class _EpisodeFields(NamedTuple):
    transition_batch: Transition
    return_: float
    solved: Optional[bool] = None
    truncated: bool = False


class Episode(_EpisodeFields):
    """A whole episode; ``len(episode)`` is its number of steps.

    Attributes:
        transition_batch: Transition of arrays stacked over time, [T, ...].
        return_: Undiscounted sum of rewards.
        solved: Whether the env reported success (None if it has no notion
            of success).
        truncated: Whether the episode ended by a time limit rather than by
            reaching a terminal state.
    """

    __slots__ = ()

    def __len__(self) -> int:
        return len(self.transition_batch.reward)

    @classmethod
    def _make(cls, iterable, *args, **kwargs) -> 'Episode':  # pylint: disable=unused-argument
        # namedtuple's _make (used by _replace) checks len(), which here
        # counts steps; check the number of fields instead.
        result = tuple.__new__(cls, iterable)
        if tuple.__len__(result) != len(cls._fields):
            raise TypeError(f'Expected {len(cls._fields)} fields, got '
                            f'{tuple.__len__(result)}.')
        return result


class StepBatch(NamedTuple):
    """What a batch stepper's ``run_steps`` returns.

    Attributes:
        transition_batches: The transitions taken in the call, as stacked
            Transitions: one per stretch of an episode within the call (an
            env whose episode ended mid-call contributes two or more).
        episodes: The Episodes that ended in the call, whole (with their
            steps from earlier calls), in the order the envs come in.
        n_steps: Environment steps taken in the call, all envs together.
    """
    transition_batches: List[Transition]
    episodes: List[Episode]
    n_steps: int


def terminal_flags(episode: Episode) -> np.ndarray:
    """Whether each step of an episode ended in a terminal state: [T] bool.

    Read from ``transition_batch.terminated``; for a batch without it, only
    the last step counts as terminal, unless the episode was truncated.
    Trainers bootstrap past every step that is not terminal.
    """
    batch = episode.transition_batch
    n_steps = len(episode)
    if batch.terminated is not None:
        return np.asarray(batch.terminated, bool).reshape(n_steps)
    flags = np.zeros(n_steps, bool)
    if n_steps and not episode.truncated:
        flags[-1] = True
    return flags


class TensorSignature(NamedTuple):
    """Shape (without batch dimension) and dtype of one array."""
    shape: tuple
    dtype: Any = np.float32


class NetworkSignature(NamedTuple):
    """Nested TensorSignatures of a network's input and output."""
    input: Any
    output: Any


def is_signature(node: Any) -> bool:
    """Whether a node of a nested signature is a TensorSignature (a leaf)."""
    return isinstance(node, TensorSignature)


def signature_map(fn: Any, signature: Any) -> Any:
    """nested_map over a nested signature, with TensorSignatures as leaves.

    TensorSignatures are NamedTuples, so plain nested_map would descend into
    their shapes. This is the basic map the signature walker
    (alpacka.data.signatures) rebuilds signatures with.
    """
    return nested.nested_map(fn, signature, stop_fn=is_signature)


class NetworkRequest:
    """Yielded by an agent to ask the stepper for ``(network_fn, params)``."""

    def __repr__(self) -> str:
        return 'NetworkRequest()'


def is_network_request(request: Any) -> bool:
    """Whether an agent's request asks for the network rather than a prediction."""
    return isinstance(request, NetworkRequest)


# Public alias for type hints of nested structures.
Nested = typing.Any


def __getattr__(name: str) -> Any:
    """Aliases of names that moved to alpacka.data.signatures.

    A module-level __getattr__ (PEP 562) that imports by name on first use:
    signatures imports this module, so importing it here would be circular.
    """
    if name == 'signature_leaves':
        return importlib.import_module('alpacka.data.signatures').signature_leaves
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
