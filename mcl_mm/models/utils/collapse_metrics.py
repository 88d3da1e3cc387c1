# Copyright (c) mcl_mm contributors. All rights reserved.
"""How spread out a batch of embeddings is: collapse shows as std -> 0 and
an effective rank -> 1."""
import math
from typing import Dict

import torch
import torch.nn.functional as F


@torch.no_grad()
def collapse_metrics(z: torch.Tensor) -> Dict[str, torch.Tensor]:
    """``std`` and ``erank`` of a batch of embeddings, off the graph.

    ``std``: the standard deviation over the batch of the L2-normalised
    embeddings, averaged over dimensions and times sqrt(D) (about 1 for
    embeddings spread over the sphere, 0 for collapse). ``erank``: the
    effective rank, exp of the entropy of the singular values of the centred
    embedding matrix normalised to sum 1 (1 for collapse, up to D).

    Args:
        z (torch.Tensor): (N, D) embeddings, N >= 2.

    Returns:
        Dict[str, torch.Tensor]: ``std`` and ``erank`` (0-d tensors).
    """
    z = F.normalize(z.detach().float(), dim=1)
    if not torch.isfinite(z).all():  # a diverged step: NonFiniteLossHook
        nan = z.new_tensor(float('nan'))  # names it, this must not fail
        return dict(std=nan, erank=nan)
    dim = z.size(1)
    std = z.std(0).mean() * math.sqrt(dim)
    singular = torch.linalg.svdvals(z - z.mean(0))
    p = singular / singular.sum().clamp_min(1e-12)
    entropy = -(p * torch.log(p.clamp_min(1e-30))).sum()
    return dict(std=std, erank=torch.exp(entropy))
