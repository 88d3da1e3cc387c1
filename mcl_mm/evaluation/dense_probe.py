# Copyright (c) mcl_mm contributors. All rights reserved.
"""A dense probe of frozen features: pixel-level linear mIoU and
region-level kNN on a small COCO-format set, no fine-tuning.

:class:`ProbeSet` loads the images (resized to a square side), a category
map per image from the instance masks (background 0) and the ground-truth
boxes, split into probe-train and probe-test images. :func:`dense_probe`
extracts the frozen features of every pyramid output (and of the backbone's
last stage), fits a 1x1 linear classifier per output (and one on all
outputs together) on the train pixels and scores mIoU on the test pixels;
where the set has two or more categories it also pools RoIAlign features of
the boxes on the output mmdet would assign them and scores cosine kNN top-1
category accuracy of the test boxes against the train boxes. The network is
never updated and its BN statistics are not touched.
"""
import math
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mcl_mm.datasets.image_file import decode_image


class ProbeSet:
    """Images, category maps and boxes of a COCO-format set.

    Args:
        ann_file (str): COCO instances json.
        img_dir (str): Folder of its images.
        size (int): Side every image is resized to. Defaults to 224.
        test_fraction (float): Share of the images (the last ones, in file
            order) held out for scoring. Defaults to 0.25 (at least one).
        mean (Sequence[float]): Pixel mean (RGB) of the model.
        std (Sequence[float]): Pixel std (RGB) of the model.
    """

    def __init__(
        self,
        ann_file: str,
        img_dir: str,
        size: int = 224,
        test_fraction: float = 0.25,
        mean: Sequence[float] = (123.675, 116.28, 103.53),
        std: Sequence[float] = (58.395, 57.12, 57.375)
    ) -> None:
        from pycocotools.coco import COCO
        coco = COCO(ann_file)
        cat_ids = sorted(coco.getCatIds())
        self.num_classes = len(cat_ids)
        label_of = {c: i + 1 for i, c in enumerate(cat_ids)}
        images, labels, boxes = [], [], []
        for img_id in sorted(coco.getImgIds()):
            info = coco.loadImgs(img_id)[0]
            bgr = decode_image(osp.join(img_dir, info['file_name']))
            h, w = bgr.shape[:2]
            rgb = cv2.resize(
                bgr, (size, size), interpolation=cv2.INTER_AREA)[..., ::-1]
            label = np.zeros((h, w), np.int64)
            img_boxes = []
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=False))
            for ann in sorted(anns, key=lambda a: -a['area']):
                label[coco.annToMask(ann) > 0] = label_of[ann['category_id']]
                x, y, bw, bh = ann['bbox']
                img_boxes.append([
                    x * size / w, y * size / h, (x + bw) * size / w,
                    (y + bh) * size / h, label_of[ann['category_id']]
                ])
            images.append(
                (torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() -
                 torch.tensor(mean).view(3, 1, 1)) /
                torch.tensor(std).view(3, 1, 1))
            labels.append(
                torch.from_numpy(
                    cv2.resize(
                        label.astype(np.uint8), (size, size),
                        interpolation=cv2.INTER_NEAREST)).long())
            boxes.append(torch.tensor(img_boxes).view(-1, 5))
        if len(images) < 2:
            raise ValueError(f'{ann_file}: a probe set needs at least 2 '
                             f'images (train and test), got {len(images)}')
        num_test = min(
            len(images) - 1, max(1, round(test_fraction * len(images))))
        self.split = len(images) - num_test
        self.images = torch.stack(images)
        self.labels = torch.stack(labels)
        self.boxes = boxes


@torch.no_grad()
def frozen_features(model: nn.Module,
                    images: torch.Tensor,
                    batch_size: int = 16) -> Dict[str, torch.Tensor]:
    """The backbone's last map (``c{log2 stride}``) and every pyramid output
    (``p{log2 stride}``) of ``model`` for ``images``, in eval mode with the
    modules' train/eval flags restored afterwards.

    Args:
        model (nn.Module): Has ``backbone`` and optionally a pyramid
            ``neck`` (mmdet FPN, C4Pyramid); an MLP neck is not a pyramid
            and is left out.
        images (torch.Tensor): (N, 3, H, H) normalised images.
        batch_size (int): Images per forward pass.

    Returns:
        Dict[str, torch.Tensor]: (N, C, h, w) maps by name.
    """
    modes = {m: m.training for m in model.modules()}
    model.eval()
    device = next(model.parameters()).device
    try:
        chunks: Dict[str, List[torch.Tensor]] = {}
        for start in range(0, images.size(0), batch_size):
            x = images[start:start + batch_size].to(device)
            feats = model.backbone(x)
            maps = [feats[-1]]
            neck = getattr(model, 'neck', None)
            if neck is not None and (hasattr(neck, 'lateral_convs')
                                     or hasattr(neck, 'forward_output')):
                maps += [m for m in neck(feats) if m.dim() == 4]
                names = ['c'] + ['p'] * (len(maps) - 1)
            else:
                names = ['c']
            for prefix, m in zip(names, maps):
                stride = x.size(-1) // m.size(-1)
                key = f'{prefix}{int(round(math.log2(stride)))}'
                chunks.setdefault(key, []).append(m.float().cpu())
    finally:
        for m, mode in modes.items():
            m.train(mode)
    return {k: torch.cat(v) for k, v in chunks.items()}


def _pixels(feats: torch.Tensor,
            labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(P, C) pixel features and (P,) labels at the feature resolution."""
    small = F.interpolate(
        labels[:, None].float(), size=feats.shape[-2:],
        mode='nearest').long().flatten()
    return feats.permute(0, 2, 3, 1).reshape(-1, feats.size(1)), small


def pixel_miou(feats: torch.Tensor,
               labels: torch.Tensor,
               split: int,
               num_classes: int,
               steps: int = 200,
               lr: float = 0.1) -> float:
    """mIoU of a 1x1 linear classifier fitted on the first ``split`` images'
    pixels, scored on the others.

    Features are standardised with the train pixels' statistics; the
    classifier starts at zero and takes ``steps`` full-batch Adam steps on
    the cross-entropy, so the result is deterministic.

    Args:
        feats (torch.Tensor): (N, C, h, w) frozen features.
        labels (torch.Tensor): (N, H, W) category maps (0: background).
        split (int): Images used for fitting.
        num_classes (int): Categories without the background.
        steps (int): Optimiser steps.
        lr (float): Adam learning rate.

    Returns:
        float: Mean IoU over the classes present in the test pixels or
        predicted there.
    """
    x_train, y_train = _pixels(feats[:split], labels[:split])
    x_test, y_test = _pixels(feats[split:], labels[split:])
    mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-6)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    k = num_classes + 1
    weight = torch.zeros(x_train.size(1), k, requires_grad=True)
    bias = torch.zeros(k, requires_grad=True)
    optim = torch.optim.Adam([weight, bias], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            optim.zero_grad()
            F.cross_entropy(x_train @ weight + bias, y_train).backward()
            optim.step()
    with torch.no_grad():
        pred = (x_test @ weight + bias).argmax(1)
    ious = []
    for c in range(k):
        inter = ((pred == c) & (y_test == c)).sum().item()
        union = ((pred == c) | (y_test == c)).sum().item()
        if union:
            ious.append(inter / union)
    return float(np.mean(ious))


def region_knn(maps: Dict[str, torch.Tensor],
               boxes: List[torch.Tensor],
               split: int,
               image_size: int,
               finest_scale: int = 56) -> float:
    """Top-1 category accuracy of cosine kNN over box features.

    Each box is pooled (RoIAlign 7x7, averaged, L2-normalised) from the
    pyramid output mmdet's RoI extractor would assign it: output
    ``floor(log2(sqrt(w h) / finest_scale))`` clamped to the outputs, the
    finest first; test boxes are matched against train boxes.

    Args:
        maps (Dict[str, torch.Tensor]): Pyramid outputs by name, (N, C, h,
            w) each.
        boxes (List[torch.Tensor]): Per image (M, 5) x1, y1, x2, y2, label.
        split (int): Images whose boxes form the reference set.
        image_size (int): Side of the probe images.
        finest_scale (int): mmdet's ``finest_scale``.

    Returns:
        float: Accuracy on the test boxes (nan without test boxes).
    """
    from mmcv.ops import RoIAlign
    outputs = sorted(maps.values(), key=lambda m: -m.size(-1))
    pooled, labels, is_train = [], [], []
    for i, img_boxes in enumerate(boxes):
        for x1, y1, x2, y2, label in img_boxes.tolist():
            scale = math.sqrt(max(x2 - x1, 1) * max(y2 - y1, 1))
            k = int(math.floor(math.log2(scale / finest_scale + 1e-6)))
            feat = outputs[min(max(k, 0), len(outputs) - 1)]
            stride = image_size / feat.size(-1)
            roi = torch.tensor([[0, x1, y1, x2, y2]], dtype=torch.float)
            f = RoIAlign(
                7, 1 / stride, sampling_ratio=2, aligned=True)(feat[i:i + 1],
                                                               roi)
            pooled.append(F.normalize(f.mean((2, 3)), dim=1)[0])
            labels.append(int(label))
            is_train.append(i < split)
    if not pooled or all(is_train) or not any(is_train):
        return float('nan')
    pooled, labels = torch.stack(pooled), torch.tensor(labels)
    train = torch.tensor(is_train)
    nearest = (pooled[~train] @ pooled[train].t()).argmax(1)
    return float((labels[train][nearest] == labels[~train]).float().mean())


def dense_probe(model: nn.Module,
                probe: ProbeSet,
                steps: int = 200) -> Dict[str, float]:
    """Every metric of the dense probe on ``model``'s frozen features.

    Returns:
        Dict[str, float]: ``miou_<output>`` per feature map (``c5``,
        ``p2``..``p5``), ``miou_all`` (all maps upsampled to the finest and
        concatenated), and ``knn_top1`` where the set has two or more
        categories.
    """
    maps = frozen_features(model, probe.images)
    results = {
        f'miou_{name}':
        pixel_miou(feat, probe.labels, probe.split, probe.num_classes, steps)
        for name, feat in sorted(maps.items())
    }
    size = max(m.size(-1) for m in maps.values())
    joined = torch.cat([
        F.interpolate(
            m, size=(size, size), mode='bilinear', align_corners=False)
        for m in maps.values()
    ], 1)
    results['miou_all'] = pixel_miou(joined, probe.labels, probe.split,
                                     probe.num_classes, steps)
    if probe.num_classes >= 2:
        pyramid = {k: v for k, v in maps.items() if k.startswith('p')} or maps
        results['knn_top1'] = region_knn(pyramid, probe.boxes, probe.split,
                                         probe.images.size(-1))
    return results
