"""TensorFlowNetwork: the plumbing every TensorFlow network shares.

A TensorFlow network (KerasNetwork, SoftActorCriticNetwork, the coming
Q-networks) subclasses TensorFlowNetwork and writes only its models, its
params and its update step. The base gives it:

* a seeded model build that leaves the global Python and numpy random states
  as they were (``_build_seeded``);
* checks that params or optimizer states fit the variables, with an error
  naming the first array that does not (``check_fit``);
* the optimizer state as numpy arrays, to checkpoint and restore
  (``_optimizer_state``, ``_set_optimizer_state``), in a checkpoint file
  with a format number (``save``, ``restore``, ``_checkpoint_state``,
  ``_load_checkpoint_state``);
* ``clone()`` from the constructor's keyword arguments;
* ``train()``: up to n_steps steps of ``_train_step(batch)``, raising
  FloatingPointError on a non-finite loss, metrics averaged over the steps.

Numpy inference for small MLPs is ``alpacka.networks.numpy_mlp``.

Target networks: one design
---------------------------
TD learning, SAC and Q-learning bootstrap from target copies of some of a
network's weights. Across Alpacka they follow one contract:

* **The target weights live in the network**, beside the variables they
  shadow: a ``TargetWeights`` holds one target variable per source variable
  (SAC: its target critics; KerasNetwork: a copy of its model's weights,
  made by the first ``update_target()``).
* **The update rule is TargetWeights**: ``polyak_update(rate)``,
  ``target <- (1 - rho) * target + rho * online``; ``hard_update()``,
  ``target <- online``; or ``periodic_hard_update(tf, step, k)``, a hard
  copy every k updates. They are TensorFlow ops, callable inside a compiled
  update step (SAC averages every step; a DQN would copy every k steps) or
  eagerly from outside (TDTrainer calls ``network.update_target()`` every
  ``target_update_period`` epochs).
* **Trainers see targets through TrainableNetwork's target API**:
  ``update_target()`` (hard copy), ``predict_target(inputs)`` (predict on the
  target weights, by the same numpy or TensorFlow path as ``predict``) and
  ``target_params`` (numpy arrays, get and set).
* **Targets are part of the network's checkpoint** (``save``/``restore``)
  **but not of ``params``**: what travels to acting copies and Ray workers
  does not grow, and acting copies never hold targets.
"""

import itertools
import math
import random
from typing import (Any, Callable, Dict, Hashable, Iterator, List, Mapping,
                    Optional, Sequence)

import numpy as np

from alpacka import data
from alpacka.networks import core
from alpacka.utils import pickle_files, tensorflow_import


def check_fit(variables: Sequence[Any], values: Sequence[Any], what: str,
              hint: str, noun: str = 'weight array') -> None:
    """Checks that values has one array of the right shape per variable.

    Args:
        variables: Objects with ``.shape`` (and ``.path`` or ``.name``).
        values: The arrays meant for them.
        what: What the values are, for messages (e.g. 'KerasNetwork.params').
        hint: What may have gone wrong, for messages.
        noun: What one array is called in messages.

    Raises:
        ValueError: the count differs, or the first array whose shape differs
            (named by index and variable).
    """
    if len(values) != len(variables):
        raise ValueError(f'{what}: the network has {len(variables)} {noun}s, '
                         f'got {len(values)} ({hint}).')
    for index, (variable, value) in enumerate(zip(variables, values)):
        shape = tuple(variable.shape)
        if tuple(np.shape(value)) != shape:
            name = getattr(variable, 'path', None) or variable.name
            raise ValueError(
                f'{what}: {noun.split()[0]} {index} ({name}) has shape {shape}, '
                f'got {tuple(np.shape(value))} ({hint}).')


class TargetWeights:
    """Target copies of a list of variables, and the rule that updates them.

    Args:
        tf: The tensorflow module.
        sources: The variables the targets shadow (e.g. a critic's weights).
        targets: Existing target variables, one per source (e.g. the weights
            of target models built beside the online ones); None to create
            non-trainable copies of the sources.
    """

    def __init__(self, tf: Any, sources: Sequence[Any],
                 targets: Optional[Sequence[Any]] = None):
        self._sources = list(sources)
        if targets is None:
            targets = [tf.Variable(source, trainable=False,
                                   name='target_' + source.name.split(':')[0])
                       for source in self._sources]
        self._targets = list(targets)
        check_fit(self._sources, self._targets, 'TargetWeights',
                  'one target per source variable', noun='target variable')

    @property
    def variables(self) -> List[Any]:
        """The target variables, in the order of their sources."""
        return list(self._targets)

    def polyak_update(self, rate: float) -> None:
        """``target <- (1 - rate) * target + rate * source``, per variable.

        Args:
            rate: The averaging rate rho in (0, 1]; 1 is a hard copy.
        """
        for target, source in zip(self._targets, self._sources):
            target.assign((1.0 - rate) * target + rate * source)

    def hard_update(self) -> None:
        """``target <- source``, per variable."""
        for target, source in zip(self._targets, self._sources):
            target.assign(source)

    def periodic_hard_update(self, tf: Any, step: Any, period: int) -> Any:
        """``target <- source`` when ``step % period == 0``, in TensorFlow.

        For a compiled update step that copies every k updates (DQN).

        Args:
            tf: The tensorflow module.
            step: The update counter (an integer tensor or variable).
            period: k, the number of updates between copies.

        Returns:
            A boolean tensor: whether the targets were copied.
        """
        def copy():
            self.hard_update()
            return tf.constant(True)

        return tf.cond(tf.equal(step % period, 0), copy,
                       lambda: tf.constant(False))

    def numpy(self) -> List[np.ndarray]:
        """The target weights as numpy arrays."""
        return [np.array(target.numpy()) for target in self._targets]

    def assign(self, values: Sequence[np.ndarray], what: str) -> None:
        """Sets the target weights from numpy arrays (checked)."""
        values = list(values)
        check_fit(self._targets, values, what,
                  'were they written by a network of another shape?')
        for target, value in zip(self._targets, values):
            target.assign(value)


class TensorFlowNetwork(core.TrainableNetwork):
    """A TrainableNetwork on TensorFlow: see the module docstring.

    Subclasses set ``CHECKPOINT_FORMAT``, implement ``_train_step`` (and
    ``_summarize`` if means over steps are not what they report), list their
    optimizers in ``_optimizers`` and extend ``_checkpoint_state`` /
    ``_load_checkpoint_state`` with what else their checkpoint holds.

    Args:
        network_signature: The network's signature.
        init_kwargs: The constructor's other keyword arguments, for clone().
    """

    # Bumped by a subclass when the layout of its checkpoints changes.
    CHECKPOINT_FORMAT = 1

    def __init__(self, network_signature: Optional[data.NetworkSignature],
                 init_kwargs: Mapping[str, Any]):
        super().__init__(network_signature)
        self._init_kwargs = dict(init_kwargs)
        self._tf, self._keras = tensorflow_import.import_tensorflow()
        self._optimizers = []
        self._traced_functions: Dict[Hashable, Any] = {}

    # -- Building. -----------------------------------------------------------

    def _traced_once(self, key: Hashable, fn: Callable,
                     make_signature: Callable[[], Sequence[Any]],
                     jit_compile: Optional[bool] = None) -> Any:
        """fn's concrete function, traced on the first call with this key.

        Networks trace their updates here, on first use: the acting copies
        of a network (in steppers, Ray workers, evaluation) never train, and
        tracing an update is most of a network's build time.

        Args:
            key: Names the function (e.g. 'update', or the update's shape).
            fn: What to trace (its Python runs only while tracing).
            make_signature: Returns the input TensorSpecs (called once).
            jit_compile: tf.function's jit_compile.
        """
        function = self._traced_functions.get(key)
        if function is None:
            function = self._tf.function(
                fn, input_signature=list(make_signature()), autograph=False,
                jit_compile=jit_compile).get_concrete_function()
            self._traced_functions[key] = function
        return function

    def _build_seeded(self, build_fn: Callable[[], Any],
                      seed: Optional[int]) -> Any:
        """Runs build_fn with Keras seeded by seed (if given).

        The global Python and numpy random states are left as they were, so
        that building a network does not shift a seeded run's other random
        streams. Without a seed the build follows Keras' global seed.
        """
        if seed is None:
            return build_fn()
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            self._keras.utils.set_random_seed(seed)
            return build_fn()
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)

    # -- Training. -------------------------------------------------------------

    def _train_step(self, batch: Any) -> Dict[str, float]:
        """One update on a batch; returns its metrics as floats.

        Keys ending in 'loss' are losses: train() raises if one is not finite
        (the step must then leave the weights as they were).
        """
        raise NotImplementedError

    def _before_training(self) -> None:
        """Called at the start of every train() (e.g. to reset metrics)."""

    def _summarize(self, history: List[Dict[str, float]]) -> Dict[str, float]:
        """The metrics of train(): by default each key's mean over the steps."""
        return {key: float(np.mean([step[key] for step in history]))
                for key in history[0]}

    def _raise_if_not_finite(self, metrics: Mapping[str, float],
                             where: str) -> None:
        bad = {key: value for key, value in metrics.items()
               if key.endswith('loss') and not math.isfinite(value)}
        if bad:
            raise FloatingPointError(
                f'{type(self).__name__}: non-finite training losses {bad} '
                f'{where}; the step was skipped (the weights are as before '
                f'it). Lower the learning rate, or check the training data '
                f'(targets, rewards, observations) for NaN/inf.')

    def train(self, data_stream: Callable[[], Iterator[Any]],
              n_steps: int) -> Dict[str, float]:
        """Performs up to n_steps update steps (fewer if the stream ends).

        Args:
            data_stream: Zero-argument callable returning an iterator of
                batches (their form is the subclass's).
            n_steps: Maximum number of steps.

        Returns:
            The metrics of the steps (see _summarize); {} if the stream gave
            no batch.

        Raises:
            FloatingPointError: a loss became NaN or infinite (the weights
                are left as before that step).
        """
        self._before_training()
        history = []
        for step, batch in enumerate(itertools.islice(data_stream(), n_steps)):
            metrics = self._train_step(batch)
            self._raise_if_not_finite(metrics,
                                      f'at step {step + 1} of {n_steps}')
            history.append(metrics)
        if not history:
            return {}
        return self._summarize(history)

    # -- Checkpoints. ----------------------------------------------------------

    def _optimizer_variables(self) -> list:
        return [variable for optimizer in self._optimizers
                for variable in optimizer.variables]

    def _optimizer_state(self) -> List[np.ndarray]:
        """The optimizers' variables (slots, iteration counts) as numpy."""
        return [np.array(variable.numpy())
                for variable in self._optimizer_variables()]

    def _set_optimizer_state(self, state: Sequence[np.ndarray],
                             checkpoint_path: str) -> None:
        variables = self._optimizer_variables()
        check_fit(variables, list(state),
                  f'The optimizer state in {checkpoint_path}',
                  f'was it written with another optimizer or model? this '
                  f'network\'s optimizer has {len(variables)} variables',
                  noun='optimizer array')
        for variable, value in zip(variables, state):
            variable.assign(value)

    def _checkpoint_state(self) -> Dict[str, Any]:
        """What save() writes besides the format number."""
        return {'params': self.params, 'optimizer': self._optimizer_state(),
                'target_params': self.target_params}

    def _load_checkpoint_state(self, state: Dict[str, Any],
                               checkpoint_path: str) -> None:
        """Restores a _checkpoint_state() read from checkpoint_path."""
        self.params = state['params']
        self._set_optimizer_state(state['optimizer'], checkpoint_path)
        self.target_params = state['target_params']

    def _read_old_checkpoint(self, state: Any, checkpoint_path: str) -> None:
        """Restores a checkpoint of an older format (or refuses it)."""
        raise ValueError(
            f'{checkpoint_path} is not a {type(self).__name__} checkpoint of '
            f'format {self.CHECKPOINT_FORMAT} (it holds '
            f'{type(state).__name__} of format '
            f'{state.get("format") if isinstance(state, dict) else None}).')

    def save(self, checkpoint_path: str) -> None:
        """Writes the network's whole state to one file, atomically.

        Params, optimizer state and target weights (and what a subclass
        adds), with the format number ``CHECKPOINT_FORMAT``.

        Args:
            checkpoint_path: The file to write (replaced whole or not at all).
        """
        pickle_files.save_pickle(checkpoint_path, {
            'format': self.CHECKPOINT_FORMAT, **self._checkpoint_state()})

    def restore(self, checkpoint_path: str) -> None:
        """Reads a checkpoint written by save() (or of an older format).

        Args:
            checkpoint_path: The file to read.

        Raises:
            FileNotFoundError: no such file.
            alpacka.utils.pickle_files.CorruptCheckpointError: the file does
                not unpickle.
            ValueError: the file is not a checkpoint of a network like this.
        """
        state = pickle_files.load_pickle(checkpoint_path)
        if (isinstance(state, dict) and
                state.get('format') == self.CHECKPOINT_FORMAT):
            self._load_checkpoint_state(state, checkpoint_path)
        else:
            self._read_old_checkpoint(state, checkpoint_path)

    def clone(self) -> 'TensorFlowNetwork':
        """A new network with the same configuration, params and targets.

        The clone's optimizers are fresh (their state is not copied).
        """
        new_network = type(self)(network_signature=self._network_signature,
                                 **self._init_kwargs)
        new_network.params = self.params
        new_network.target_params = self.target_params
        return new_network
