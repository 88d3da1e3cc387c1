# Copyright (c) mcl_mm contributors. All rights reserved.
"""Paired differences over seeds with a 95 % t interval, and the evidence
file's schema (``docs/evidence/results.json``)."""
import math
import statistics
from typing import Dict, List, Sequence, Tuple

from scipy.stats import t as student_t

# a pair: (name, left init, right init), the difference left - right
Pair = Tuple[str, str, str]
# the intervals' confidence level (``ci95``)
CONFIDENCE = 0.95


def parse_pairs(names: Sequence[str]) -> List[Pair]:
    """Pairs from their names ``LEFT-RIGHT`` (init names hold no ``-``).

    Raises:
        ValueError: Naming the pair, if it is not two names around one
            ``-``.
    """
    pairs = []
    for name in names:
        parts = name.split('-')
        if len(parts) != 2 or not all(parts):
            raise ValueError(f'pair {name!r}: expected LEFT-RIGHT, two '
                             'initialisation names around one "-"')
        pairs.append((name, parts[0], parts[1]))
    return pairs


def t_interval(values: Sequence[float]) -> Dict[str, object]:
    """Mean and 95 % t confidence interval of ``values`` (paired
    differences, one per seed).

    Args:
        values (Sequence[float]): At least 2 values.

    Returns:
        Dict[str, object]: ``mean`` and ``ci95`` ([low, high]).
    """
    n = len(values)
    if n < 2:
        raise ValueError(f't_interval needs 2 or more seeds, got {n}')
    mean = statistics.mean(values)
    quantile = student_t.ppf((1 + CONFIDENCE) / 2, n - 1)
    half = quantile * statistics.stdev(values) / math.sqrt(n)
    return dict(mean=mean, ci95=[mean - half, mean + half])


def differences(by_init: Dict[str, List[float]], left: str,
                right: str) -> List[float]:
    """Seed-wise ``left - right`` of one metric (``init -> values``, the
    values of every init in the same seed order)."""
    a, b = by_init[left], by_init[right]
    if len(a) != len(b):
        raise ValueError(f'{left} has {len(a)} seeds, {right} {len(b)}: '
                         'the design is paired')
    return [x - y for x, y in zip(a, b)]


def paired(per_seed: Dict[str, Dict[str, List[float]]],
           pairs: Sequence[Pair]) -> Dict[str, Dict[str, Dict[str, object]]]:
    """``metric -> pair -> {mean, ci95}`` of the seed-wise differences.

    Args:
        per_seed (dict): ``metric -> init -> values``, the values of every
            init in the same seed order.
        pairs (Sequence[Pair]): (name, left init, right init) triples
            (:func:`parse_pairs`); a pair whose inits a metric lacks is
            left out for it.
    """
    out: Dict[str, Dict[str, Dict[str, object]]] = {}
    for metric, by_init in per_seed.items():
        for name, left, right in pairs:
            if left in by_init and right in by_init:
                try:
                    diffs = differences(by_init, left, right)
                except ValueError as err:
                    raise ValueError(f'{metric}: {err}') from None
                out.setdefault(metric, {})[name] = t_interval(diffs)
    return out


def plot_paired(results: dict, metrics: Sequence[str], path: str) -> None:
    """Per metric, the seed-wise differences of every pair (points) with
    their mean and 95 % interval (bar), from an evidence file's dict."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    metrics = [m for m in metrics if m in results['paired']]
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        names = [
            p for p in parse_pairs(results['pairs'])
            if p[0] in results['paired'][metric]
        ]
        for x, (name, left, right) in enumerate(names):
            diffs = differences(results['per_seed'][metric], left, right)
            ax.plot([x] * len(diffs), diffs, 'o', color='grey', alpha=0.6)
            stat = results['paired'][metric][name]
            low, high = stat['ci95']
            ax.errorbar([x + 0.15], [stat['mean']],
                        yerr=[[stat['mean'] - low], [high - stat['mean']]],
                        fmt='s',
                        color='C0',
                        capsize=4)
        ax.axhline(0, color='black', lw=0.8)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([n[0] for n in names], rotation=20)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    fig.suptitle(f'paired differences over seeds {results["seeds"]}: '
                 'per seed (grey), mean and 95 % t interval (blue)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def paired_markdown(results: dict, metrics: Sequence[str]) -> str:
    """An evidence file's dict as a markdown table: per metric the mean of
    every initialisation over the seeds, then every pair's mean difference
    with its 95 % interval."""
    inits = []
    for metric in metrics:
        for init in results['per_seed'].get(metric, {}):
            if init not in inits:
                inits.append(init)
    pairs = [
        name for name in results['pairs']
        if any(name in results['paired'].get(m, {}) for m in metrics)
    ]
    lines = [
        '| metric | ' + ' | '.join(inits + pairs) + ' |',
        '| --- |' + ' --- |' * (len(inits) + len(pairs))
    ]
    for metric in metrics:
        by_init = results['per_seed'].get(metric)
        if not by_init:
            continue
        cells = [
            f'{statistics.mean(by_init[i]):.3g}' if i in by_init else ''
            for i in inits
        ]
        for name in pairs:
            stat = results['paired'].get(metric, {}).get(name)
            cells.append(f"{stat['mean']:+.3g} [{stat['ci95'][0]:+.3g}, "
                         f"{stat['ci95'][1]:+.3g}]" if stat else '')
        lines.append(f'| {metric} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def evidence_results(seeds: List[int], per_seed: Dict[str, Dict[str,
                                                                List[float]]],
                     settings: dict, pairs: Sequence[str]) -> dict:
    """The evidence file: exactly ``seeds``, ``per_seed``, ``means``
    (``metric -> init -> mean over the seeds``), ``pairs`` (their names,
    ``LEFT-RIGHT``), ``paired`` and ``settings`` (``paired`` is empty below
    two seeds: no interval)."""
    return dict(
        seeds=list(seeds),
        per_seed=per_seed,
        means={
            metric: {
                init: statistics.mean(values)
                for init, values in by_init.items()
            }
            for metric, by_init in per_seed.items()
        },
        pairs=list(pairs),
        paired=paired(per_seed, parse_pairs(pairs)) if len(seeds) >= 2 else {},
        settings=settings)
