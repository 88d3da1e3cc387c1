# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmcv.ops import RoIAlign
from mmengine.model import ExponentialMovingAverage
from torch import nn

from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from ..utils.collapse_metrics import collapse_metrics
from .base_selfsup import SelfSupervisor


def boxes_to_rois(boxes: torch.Tensor) -> torch.Tensor:
    """(B, K, 4) boxes -> (B * K, 5) RoIs ``[image index, x1, y1, x2, y2]``,
    image-major, for mmcv's RoIAlign."""
    b, k = boxes.shape[:2]
    index = torch.arange(b, device=boxes.device, dtype=boxes.dtype)
    index = index.view(b, 1, 1).expand(b, k, 1)
    return torch.cat([index, boxes], dim=2).view(b * k, 5)


def negative_logits(q: torch.Tensor, neg: torch.Tensor,
                    intra: bool) -> torch.Tensor:
    """Similarities of each query with the negative boxes.

    Args:
        q (torch.Tensor): (B, D) normalised queries.
        neg (torch.Tensor): (B, M, D) normalised negative-box keys of each
            image.
        intra (bool): Also use the query's own image's M boxes.

    Returns:
        torch.Tensor: (B, (B - 1) * M) inter-image similarities, or
        (B, B * M) with the M intra-image ones appended.
    """
    b, m = neg.shape[:2]
    sim = torch.einsum('bd,cmd->bcm', q, neg)
    other = ~torch.eye(b, dtype=torch.bool, device=q.device)
    logits = sim[other].view(b, (b - 1) * m)
    if intra:
        own = torch.arange(b, device=q.device)
        logits = torch.cat([logits, sim[own, own]], dim=1)
    return logits


@MODELS.register_module()
class MaskCo(SelfSupervisor):
    """MaskCo: contrastive mask prediction (Zhao et al., ICCV 2021).

    A region of the query view is masked (set to the normalised mean, i.e.
    0 after the data preprocessor); query path: backbone -> mask prediction
    head -> RoIAlign of the masked box -> projection; key path (momentum
    encoder): backbone -> RoIAlign of the same region in the intact key
    view -> projection. The positive is that key box; the negatives are
    the M boxes of every other image on the device ((B - 1) x M, 496 for
    B=32, M=16), plus the image's own M boxes with ``intra_negatives``
    (MaskCo(+in), 512). MoCo's InfoNCE (``ContrastiveHead``), SGD on the
    query network, EMA on the key network.

    Ours, not the paper's (config fields): the features are C5 (stride 32)
    and RoIAlign gives ``roi_size`` x ``roi_size`` with sampling ratio 2;
    negatives are not gathered across devices; the mask fill is 0 after
    normalisation; the MPH layers (:class:`MaskPredictionHead`).

    Args:
        backbone (dict): Config of the backbone (last output is read).
        neck (dict): Config of the projection (e.g. ``MoCoV2Neck`` with
            average pooling over the RoI features).
        head (dict): Config of the ``ContrastiveHead``.
        mask_head (dict): Config of the :class:`MaskPredictionHead`.
        roi_size (int): RoIAlign output size. Defaults to 7.
        feat_stride (int): Stride of the backbone map. Defaults to 32.
        momentum (float): EMA momentum in mmengine's convention (0.001 =
            the key network keeps 99.9%). Defaults to 0.001.
        intra_negatives (bool): MaskCo(+in). Defaults to False.
        pretrained (str, optional): Checkpoint to initialise from.
        channels_last (bool): Channels-last parameters and input batches
            (:class:`SelfSupervisor`). Defaults to False.
        data_preprocessor (dict, optional): Config of the preprocessor.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 mask_head: dict,
                 roi_size: int = 7,
                 feat_stride: int = 32,
                 momentum: float = 0.001,
                 intra_negatives: bool = False,
                 pretrained: Optional[str] = None,
                 channels_last: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            channels_last=channels_last,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.mask_head = MODELS.build(mask_head)
        self.roi_align = RoIAlign(
            roi_size, 1. / feat_stride, sampling_ratio=2, aligned=True)
        self.intra_negatives = intra_negatives
        self.encoder_k = ExponentialMovingAverage(
            nn.Sequential(self.backbone, self.neck), momentum)
        self.use_channels_last()

    def init_weights(self) -> None:
        """Initialise the query network and start the key one as its copy."""
        super().init_weights()
        self.encoder_k.module.load_state_dict(
            nn.Sequential(self.backbone, self.neck).state_dict())

    @staticmethod
    def mask_region(images: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Zero (the normalised mean) every pixel a box touches, on the
        device (no host copy of the boxes)."""
        h, w = images.shape[-2:]
        x1, y1 = boxes[:, 0].floor(), boxes[:, 1].floor()
        x2, y2 = boxes[:, 2].ceil(), boxes[:, 3].ceil()
        ys = torch.arange(h, device=images.device, dtype=boxes.dtype)
        xs = torch.arange(w, device=images.device, dtype=boxes.dtype)
        rows = (ys >= y1[:, None]) & (ys < y2[:, None])  # (B, H)
        cols = (xs >= x1[:, None]) & (xs < x2[:, None])  # (B, W)
        inside = rows[:, :, None] & cols[:, None, :]
        return images.masked_fill(inside[:, None], 0)

    def _embed(self, feats: torch.Tensor, boxes: torch.Tensor,
               neck: nn.Module) -> torch.Tensor:
        # mmcv's RoIAlign reads its input as contiguous NCHW
        rois = self.roi_align(feats.contiguous(), boxes_to_rois(boxes))
        return F.normalize(neck((rois, ))[0], dim=1)

    @torch.no_grad()
    def key_features(self, im_k: torch.Tensor) -> torch.Tensor:
        """The key backbone's last map of each key view, computed on a batch
        shuffled across GPUs (MoCo's shuffle BN: a query and its key never
        share BN statistics) and put back in the local order."""
        im_k, idx_unshuffle = batch_shuffle_ddp(im_k)
        return batch_unshuffle_ddp(self.encoder_k.module[0](im_k)[-1],
                                   idx_unshuffle)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """InfoNCE of each masked query box against its key box.

        Args:
            inputs (List[torch.Tensor]): [query views, key views].
            data_samples (List[DataSample]): With ``mask_box`` (4,) and
                ``key_boxes`` (1 + M, 4) from :class:`MaskCoViews`.

        Returns:
            Dict[str, torch.Tensor]: ``loss``.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError('MaskCo: expected [query, key] view batches '
                             'from MaskCoViews')
        if 'key_boxes' not in data_samples[0]:
            raise KeyError('MaskCo: data samples carry no key_boxes; pack '
                           "them with PackInputs(algorithm_keys=("
                           "'mask_box', 'key_boxes'))")
        im_q, im_k = inputs
        device = im_q.device
        mask_box = torch.stack([s.mask_box for s in data_samples]).to(device)
        key_boxes = torch.stack([s.key_boxes for s in data_samples]).to(device)
        b, k = key_boxes.shape[:2]

        fq = self.mask_head(
            self.backbone(self.mask_region(im_q, mask_box))[-1])
        q = self._embed(fq, mask_box[:, None], self.neck)

        with torch.no_grad():
            self.encoder_k.update_parameters(
                nn.Sequential(self.backbone, self.neck))
            keys = self._embed(
                self.key_features(im_k), key_boxes,
                self.encoder_k.module[1]).view(b, k, -1)

        pos = (q * keys[:, 0]).sum(1, keepdim=True)
        neg = negative_logits(q, keys[:, 1:], self.intra_negatives)
        losses = dict(loss=self.head.loss(pos, neg))
        if self.watch_collapse:  # the query embeddings
            losses.update(collapse_metrics(q))
        return losses
