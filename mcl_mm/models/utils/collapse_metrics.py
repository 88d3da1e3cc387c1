# Copyright (c) mcl_mm contributors. All rights reserved.
"""How spread out a batch of embeddings is: collapse shows as std -> 0 and
an effective rank -> 1."""
import math
from typing import Dict

import torch
import torch.nn.functional as F


@torch.no_grad()
def collapse_metrics(z: torch.Tensor) -> Dict[str, torch.Tensor]:
    """``std`` and ``erank`` of a batch of embeddings, off the graph and
    without reading anything to the host.

    ``std``: the standard deviation over the batch of the L2-normalised
    embeddings, averaged over dimensions and times sqrt(D) (about 1 for
    embeddings spread over the sphere, 0 for collapse). ``erank``: the
    effective rank, exp of the entropy of the singular values of the centred
    embedding matrix normalised to sum 1 (1 for collapse, up to D).

    The singular values are the square roots of the eigenvalues of the
    smaller of the two Gram matrices (D x D or N x N), formed in float64:
    one small symmetric eigenproblem instead of an SVD of the N x D matrix.
    A batch with a non-finite value gives NaN for both (no Python branch on
    a device value: :class:`NonFiniteLossHook` names the diverged step).

    Args:
        z (torch.Tensor): (N, D) embeddings, N >= 2.

    Returns:
        Dict[str, torch.Tensor]: ``std`` and ``erank`` (0-d float32
        tensors on ``z``'s device).
    """
    z = F.normalize(z.detach().float(), dim=1)
    finite = torch.isfinite(z).all()
    z = torch.where(finite, z, torch.zeros_like(z))
    std = z.std(0).mean() * math.sqrt(z.size(1))
    centred = (z - z.mean(0)).double()
    gram = centred.T @ centred if z.size(1) <= z.size(0) else \
        centred @ centred.T
    singular = torch.linalg.eigvalsh(gram).clamp_min(0).sqrt()
    p = singular / singular.sum().clamp_min(1e-12)
    entropy = -(p * torch.log(p.clamp_min(1e-300))).sum()
    nan = torch.full_like(std, float('nan'))
    return dict(
        std=torch.where(finite, std, nan),
        erank=torch.where(finite,
                          torch.exp(entropy).float(), nan))
