"""Batch steppers: where agents' episodes run and their requests are answered.

RayBatchStepper imports Ray only when one is constructed.
"""

from alpacka.batch_steppers.core import BatchStepper
from alpacka.batch_steppers.local import LocalBatchStepper
from alpacka.batch_steppers.ray import RayBatchStepper

__all__ = ['BatchStepper', 'LocalBatchStepper', 'RayBatchStepper']
