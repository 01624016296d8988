"""UpdateBudget: how many updates a step-based learner owes its new data.

Off-policy learners (SAC, Q-learning) perform ``updates_per_step`` updates per
transition added (the inverse of DQN's "train every k steps"), once the
replay holds ``min_replay_size`` transitions. Fractions carry over between
calls, so 0.25 updates per step is one update every 4 steps whatever the
chunks the steps arrive in.
"""

from typing import Any, Dict, Optional

import numpy as np


class UpdateBudget:
    """Counts new transitions and turns them into owed updates.

    While the replay is smaller than min_replay_size nothing is owed, and the
    transitions added meanwhile do not count towards later updates.

    Args:
        updates_per_step: Updates per new transition.
        min_replay_size: Transitions needed before training starts.
    """

    def __init__(self, updates_per_step: float, min_replay_size: int):
        self.updates_per_step = float(updates_per_step)
        self.min_replay_size = int(min_replay_size)
        self._new_transitions = 0
        self._credit = 0.0  # Fractional updates carried over.

    def add(self, n_transitions: int) -> None:
        """Counts n_transitions new transitions."""
        self._new_transitions += n_transitions

    def take(self, replay_size: int) -> Optional[int]:
        """The updates owed now (and forgets the transitions counted).

        Args:
            replay_size: Transitions in the replay.

        Returns:
            The number of updates; None while the replay is too small.
        """
        if replay_size < self.min_replay_size:
            self._new_transitions = 0
            return None
        owed = self._credit + self.updates_per_step * self._new_transitions
        n_updates = int(np.floor(owed + 1e-9))
        self._credit = max(owed - n_updates, 0.0)
        self._new_transitions = 0
        return n_updates

    def state_dict(self) -> Dict[str, Any]:
        """The counts (the keys SoftActorCriticTrainer's checkpoints hold)."""
        return {'new_transitions': self._new_transitions,
                'update_credit': self._credit}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores a state from state_dict()."""
        self._new_transitions = state['new_transitions']
        self._credit = state['update_credit']


class BudgetProperties:
    """The budget's settings as trainer properties, which the Runner and the
    asynchronous pipeline read (for trainers keeping an UpdateBudget in
    ``self._budget``)."""

    _budget: UpdateBudget

    @property
    def updates_per_step(self) -> float:
        """Updates per env step added."""
        return self._budget.updates_per_step

    @property
    def min_replay_size(self) -> int:
        """Replay size (the trainer's unit) needed before training starts."""
        return self._budget.min_replay_size
