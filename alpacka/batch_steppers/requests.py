"""Alias: request handling lives in alpacka.agents.requests.

Kept so that imports of ``alpacka.batch_steppers.requests`` keep working.
"""

from alpacka.agents.requests import RequestHandler, run_coroutines

__all__ = ['RequestHandler', 'run_coroutines']
