"""The Runner's per-epoch summaries: episode statistics (``episode/*``,
``eval_episode/*``) and the merge of several training calls' metrics
(``train/*`` of a step-based epoch)."""

from typing import Dict, Sequence

import numpy as np

from alpacka import data


def merge_train_metrics(chunks: Sequence[Dict[str, float]]
                        ) -> Dict[str, float]:
    """Merges the metrics of several train_epoch calls into the epoch's.

    ``n_updates`` is summed; other metrics are averaged, weighted by each
    call's n_updates when the calls report it.
    """
    merged = {}
    names = dict.fromkeys(name for chunk in chunks for name in chunk)
    for name in names:
        pairs = [(chunk[name], chunk.get('n_updates', 1.0))
                 for chunk in chunks if name in chunk]
        values, weights = zip(*pairs)
        if name == 'n_updates':
            merged[name] = float(sum(values))
        elif sum(weights) > 0:
            merged[name] = float(np.average(values, weights=weights))
        else:
            merged[name] = float(np.mean(values))
    return merged


def episode_metrics(episodes: Sequence[data.Episode]) -> Dict[str, float]:
    """Summary statistics of a batch of episodes (logged as episode/*)."""
    returns = np.array([episode.return_ for episode in episodes], np.float64)
    lengths = np.array([len(episode) for episode in episodes], np.float64)
    metrics = {
        'return_mean': returns.mean(),
        'return_median': np.median(returns),
        'return_max': returns.max(),
        'return_min': returns.min(),
        'length_mean': lengths.mean(),
        'count': float(len(episodes)),
        'truncated_rate': float(np.mean([episode.truncated
                                         for episode in episodes])),
    }
    solved = [episode.solved for episode in episodes
              if episode.solved is not None]
    if solved:
        metrics['solved_rate'] = float(np.mean(solved))
    return {name: float(value) for name, value in metrics.items()}
