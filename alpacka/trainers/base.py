"""The Trainer interface: consumes episodes, trains a network."""

from typing import Any, Dict, Optional


from alpacka import data
from alpacka.utils import pickle_files
from alpacka.utils import validation


class Trainer:
    """Base class of trainers.

    Subclasses keep their whole state (replay buffers included) in
    ``state_dict()`` / ``load_state_dict()``, which save() and restore() use.

    Args:
        network_signature: Signature of the network it trains (None if the
            agent needs no network).
    """

    def __init__(self, network_signature: Optional[data.NetworkSignature]):
        self._network_signature = network_signature

    def add_episode(self, episode: data.Episode) -> None:
        """Adds one episode to the training data."""
        raise NotImplementedError

    def add_transitions(self, transition_batch: data.Transition) -> None:
        """Adds a stretch of an episode's steps (step-based collection).

        Trainers that learn from single transitions (off-policy ones)
        override this; the default refuses, since targets such as returns
        need whole episodes.

        Args:
            transition_batch: Stacked steps [T, ...] of one episode, with
                ``terminated`` and ``truncated`` set per step.
        """
        del transition_batch
        raise TypeError(transitions_refusal(self))

    def train_epoch(self, network: Any) -> Dict[str, float]:
        """Trains network for one epoch.

        Args:
            network: A TrainableNetwork.

        Returns:
            A dict of scalar metrics (logged as train/*).
        """
        raise NotImplementedError

    def state_dict(self) -> Dict[str, Any]:
        """The trainer's state as picklable plain data."""
        return {}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict()."""
        del state

    def save(self, checkpoint_path: str) -> None:
        """Writes the trainer's state (replay included) to a file, atomically."""
        pickle_files.save_pickle(checkpoint_path, self.state_dict())

    def restore(self, checkpoint_path: str) -> None:
        """Reads the state written by save()."""
        self.load_state_dict(pickle_files.load_pickle(checkpoint_path))


def transitions_refusal(trainer: Trainer) -> Optional[str]:
    """Why the trainer cannot take step-based collection, or None if it can.

    It can when it overrides ``Trainer.add_transitions``.
    """
    if type(trainer).add_transitions is not Trainer.add_transitions:
        return None
    return (f'{type(trainer).__name__} learns from whole episodes and cannot '
            f'take step-based collection (Runner.env_steps_per_epoch); leave '
            f'that unset, or use a trainer with add_transitions such as '
            f'SoftActorCriticTrainer.')


@validation.configurable(module='alpacka.trainers')
class DummyTrainer(Trainer):
    """Discards episodes and trains nothing (for agents without learning)."""

    def add_episode(self, episode: data.Episode) -> None:
        del episode

    def add_transitions(self, transition_batch: data.Transition) -> None:
        del transition_batch

    def train_epoch(self, network: Any) -> Dict[str, float]:
        del network
        return {}
