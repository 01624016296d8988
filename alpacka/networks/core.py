"""The network interface that hides the deep-learning framework."""

from typing import Any, Callable, Dict, Iterator, Optional

import numpy as np

from alpacka import data
from alpacka.utils import pickle_files
from alpacka.utils import validation


class Network:
    """A function approximator with plain-numpy, picklable parameters.

    Args:
        network_signature: NetworkSignature of inputs and outputs (leaves
            without the batch dimension).
    """

    def __init__(self, network_signature: Optional[data.NetworkSignature]):
        self._network_signature = network_signature

    @property
    def network_signature(self) -> Optional[data.NetworkSignature]:
        """The signature this network was built for."""
        return self._network_signature

    def predict(self, inputs: Any) -> Any:
        """Evaluates the network on a batch.

        Args:
            inputs: Nested arrays shaped [B, ...] like the input signature.

        Returns:
            Nested arrays shaped [B, ...] like the output signature.
        """
        raise NotImplementedError

    @property
    def params(self) -> Any:
        """The parameters, as a picklable structure of numpy arrays."""
        raise NotImplementedError

    @params.setter
    def params(self, new_params: Any) -> None:
        raise NotImplementedError

    def save(self, checkpoint_path: str) -> None:
        """Writes the network's state to a file, atomically."""
        pickle_files.save_pickle(checkpoint_path, self.params)

    def restore(self, checkpoint_path: str) -> None:
        """Reads the network's state from a file written by save()."""
        self.params = pickle_files.load_pickle(checkpoint_path)

    def clone(self) -> 'Network':
        """A new network of the same class and signature with equal params."""
        new_network = type(self)(network_signature=self._network_signature)
        new_network.params = self.params
        return new_network


class TrainableNetwork(Network):
    """A network that can be trained on a stream of batches."""

    def train(self, data_stream: Callable[[], Iterator[Any]],
              n_steps: int) -> Dict[str, float]:
        """Performs up to n_steps gradient steps.

        Args:
            data_stream: Zero-argument callable returning an iterator of
                ``(inputs, targets)`` or ``(inputs, targets, masks)`` batches.
            n_steps: Number of training steps.

        Returns:
            A dict of scalar training metrics (logged as train/*).
        """
        raise NotImplementedError

    # -- Target weights (see alpacka.networks.tensorflow_base). --------------
    # Trainers that bootstrap from a target network (TDTrainer, and the
    # coming Q-learning trainers) use these; a network without target
    # weights refuses them with a TypeError.

    def update_target(self) -> None:
        """Copies the current weights into the target weights (hard update)."""
        raise TypeError(self._no_targets())

    def predict_target(self, inputs: Any) -> Any:
        """Like predict(), on the target weights.

        Args:
            inputs: Nested arrays shaped [B, ...] like the input signature.

        Returns:
            Nested arrays shaped [B, ...] like the output signature.
        """
        raise TypeError(self._no_targets())

    @property
    def target_params(self) -> Any:
        """The target weights, like params (not part of params); None if none."""
        return None

    @target_params.setter
    def target_params(self, new_params: Any) -> None:
        if new_params is not None:
            raise TypeError(self._no_targets())

    def _no_targets(self) -> str:
        return (f'{type(self).__name__} keeps no target weights; a trainer '
                f'that bootstraps from a target network needs a network that '
                f'does (e.g. KerasNetwork).')


@validation.configurable(module='alpacka.networks')
class DummyNetwork(TrainableNetwork):
    """A network with no parameters that predicts zeros of its output signature.

    Useful for agents that need no learning (e.g. ShootingAgent with random
    rollouts); it imports no deep-learning framework.
    """

    def predict(self, inputs: Any) -> Any:
        batch_size = len(data.choose_leaf(inputs))
        if self._network_signature is None:
            return inputs
        return data.signature_map(
            lambda sig: np.zeros((batch_size,) + tuple(sig.shape), sig.dtype),
            self._network_signature.output)

    @property
    def params(self) -> None:
        return None

    @params.setter
    def params(self, new_params: Any) -> None:
        del new_params

    def train(self, data_stream: Callable[[], Iterator[Any]],
              n_steps: int) -> Dict[str, float]:
        del data_stream, n_steps
        return {}
