# Copyright (c) mcl_mm contributors. All rights reserved.
"""Paired differences over seeds with a 95 % t interval, and the evidence
file's schema (``docs/evidence/results.json``)."""
import math
import statistics
from typing import Dict, List, Sequence

# two-sided 95 % Student t quantiles (0.975) for 1..30 degrees of freedom
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
# equal steps, equal FLOPs (BYOL trained 1.33x the steps), random init,
# the one-level ablation (S=3 against S=1)
PAIRS = (('mcl-byol', 'mcl', 'byol'), ('mcl-byol_flops', 'mcl', 'byol_flops'),
         ('mcl-random', 'mcl', 'random'), ('mcl-mcl_s1', 'mcl', 'mcl_s1'))


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
    t = T975[n - 2] if n - 1 <= len(T975) else 1.960
    half = t * statistics.stdev(values) / math.sqrt(n)
    return dict(mean=mean, ci95=[mean - half, mean + half])


def paired(per_seed: Dict[str, Dict[str, List[float]]],
           pairs=PAIRS) -> Dict[str, Dict[str, Dict[str, object]]]:
    """``metric -> pair -> {mean, ci95}`` of the seed-wise differences.

    Args:
        per_seed (dict): ``metric -> init -> values``, the values of every
            init in the same seed order.
        pairs: (name, left init, right init) triples; a pair whose inits a
            metric lacks is left out for it.
    """
    out: Dict[str, Dict[str, Dict[str, object]]] = {}
    for metric, by_init in per_seed.items():
        for name, left, right in pairs:
            if left in by_init and right in by_init:
                a, b = by_init[left], by_init[right]
                if len(a) != len(b):
                    raise ValueError(
                        f'{metric}: {left} has {len(a)} seeds, {right} '
                        f'{len(b)}: the design is paired')
                out.setdefault(metric, {})[name] = t_interval(
                    [x - y for x, y in zip(a, b)])
    return out


def evidence_results(seeds: List[int], per_seed: Dict[str, Dict[str,
                                                                List[float]]],
                     settings: dict) -> dict:
    """The evidence file: exactly ``seeds``, ``per_seed``, ``paired``,
    ``settings`` (``paired`` is empty below two seeds: no interval)."""
    return dict(
        seeds=list(seeds),
        per_seed=per_seed,
        paired=paired(per_seed) if len(seeds) >= 2 else {},
        settings=settings)
