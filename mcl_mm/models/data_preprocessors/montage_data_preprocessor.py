# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional, Sequence

import torch
from torch import nn

from mmpretrain.models.utils import SelfSupDataPreprocessor
from mmpretrain.registry import MODELS
from ..utils.montage_geometry import split_views, view_index
from .device_transforms import DEVICE_TRANSFORMS, build_device_transform
from .fused_augment import FusedAugment, stage_signature


@MODELS.register_module()
class MontageDataPreprocessor(SelfSupDataPreprocessor):
    """mmpretrain's ``SelfSupDataPreprocessor`` that also runs the
    photometric part of each view pipeline on the device.

    During training, the view batches of pipeline ``p`` (levels ``0..S-1``,
    :func:`split_views`) pass ``augments[p]`` in order, on RGB floats in
    [0, 255] before normalisation, each image copy with its own random
    parameters, before they are tiled; evaluation passes nothing.
    ``augments`` uses the CPU transforms' names and arguments
    (:data:`DEVICE_TRANSFORMS`); :class:`MontageRunner` moves them there
    from the training pipeline when ``augment_on_device`` is True, so the
    CPU workers only decode, crop, resize and flip.

    By default the transforms of all pipelines run fused
    (:class:`FusedAugment`: one affine colour map per image, a separable
    blur with Pillow's kernel, solarize in place, the views of a level
    batched together): 147 aten ops per step at S=4 instead of 4700.
    ``fuse_augments=False`` runs each transform on its own
    (:mod:`.device_transforms`: the HSV hue of Pillow, kornia's sampled
    Gaussian, a clamp after every op).

    Blur radii are in pixels of the full-size view (level 0): a level whose
    copies are smaller (cropped straight to their tile size,
    ``MontageAssembly(tile_sizes=...)``) is blurred in proportion, as the
    full-size copy would be before it is shrunk (the authors' order).

    Args:
        augments (Sequence[Sequence[dict]]): Per view pipeline, the device
            transforms. Defaults to none.
        augment_on_device (bool): Whether :class:`MontageRunner` moves the
            photometric transforms here. False keeps them on the CPU.
            Defaults to True.
        blur_per_level (bool): Whether blur radii scale with each level's
            copy size (see above). False blurs every level with the
            full-size radii in its own pixels, 2x-8x the authors' blur at
            levels 1-3 of S=4. Defaults to True.
        fuse_augments (bool): Whether the transforms run fused (see
            above). Defaults to True.
        **kwargs: ``SelfSupDataPreprocessor``'s arguments.
    """

    def __init__(self,
                 augments: Sequence[Sequence[dict]] = (),
                 augment_on_device: bool = True,
                 blur_per_level: bool = True,
                 fuse_augments: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.augment_on_device = augment_on_device
        self.blur_per_level = blur_per_level
        self.augments = nn.ModuleList(
            nn.ModuleList(build_device_transform(t) for t in pipeline)
            for pipeline in augments)
        # the pipelines with the same steps run fused together
        self.fused_pipelines: List[List[int]] = []
        if fuse_augments:
            by_steps: dict = {}
            for p, pipeline in enumerate(self.augments):
                by_steps.setdefault(str(stage_signature(pipeline)),
                                    []).append(p)
            self.fused_pipelines = list(by_steps.values())
        self.fused = nn.ModuleList(
            FusedAugment([self.augments[p] for p in pipelines], blur_per_level)
            for pipelines in self.fused_pipelines)

    @staticmethod
    def _rgb_float(views: List[torch.Tensor], bgr: bool) -> List[torch.Tensor]:
        return [(v[:, [2, 1, 0]] if bgr else v).float() for v in views]

    def augment(self,
                views: List[torch.Tensor],
                bgr: bool = False) -> List[torch.Tensor]:
        """Apply each pipeline's device transforms to its views, in float32
        also under AMP (mmengine's ``train_step`` runs the preprocessor in
        the optimiser's autocast): the CPU recipe's grey levels, one dtype.

        Args:
            views (List[torch.Tensor]): The view batches (``split_views``'
                layout), uint8 or float in [0, 255].
            bgr (bool): Whether they are BGR. Defaults to False.

        Returns:
            List[torch.Tensor]: The augmented views, RGB float.
        """
        pipelines = len(self.augments)
        if not pipelines:
            return self._rgb_float(views, bgr)
        levels = split_views(views,
                             len(views) // pipelines, pipelines,
                             'MontageDataPreprocessor')
        with torch.autocast(views[0].device.type, enabled=False):
            if self.fused_pipelines:
                return self._augment_fused(levels, bgr)
            out = []
            for augment, copies in zip(self.augments, levels):
                copies = self._rgb_float(copies, bgr)
                full = copies[0].size(-1)
                for v in copies:
                    scale = v.size(-1) / full if self.blur_per_level else 1.
                    for transform in augment:
                        v = transform(v, scale)
                    out.append(v)
        return out

    def _augment_fused(self, levels: List[List[torch.Tensor]],
                       bgr: bool) -> List[torch.Tensor]:
        """Each set of pipelines with the same steps through its
        :class:`FusedAugment`; the views back in ``split_views``' order."""
        out: List[torch.Tensor] = [None] * sum(map(len, levels))
        for pipelines, fused in zip(self.fused_pipelines, self.fused):
            done = iter(fused([v for p in pipelines for v in levels[p]], bgr))
            for p in pipelines:
                for level in range(len(levels[p])):
                    out[view_index(p, level, len(levels[p]))] = next(done)
        return out

    @torch.compiler.disable
    def _cast_samples(self, samples: Optional[list]) -> Optional[list]:
        """``cast_data`` of the data samples, which ``torch.compile`` does
        not trace: their copy would guard on every string of their
        metainfo, and each batch would compile the preprocessor anew."""
        return self.cast_data(samples)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Cast to the device, RGB float, augment (training), normalise.

        Args:
            data (dict): ``inputs`` (a list of uint8 view batches) and
                ``data_samples``.
            training (bool): Whether to augment.

        Returns:
            dict: ``inputs`` (list of normalised views) and
            ``data_samples``.
        """
        inputs = self.cast_data(data['inputs'])
        samples = self._cast_samples(data.get('data_samples'))
        if not isinstance(inputs, list):
            raise ValueError('MontageDataPreprocessor expects a list of '
                             'view batches (MontageAssembly)')
        if training:
            views = self.augment(inputs, self._channel_conversion)
        else:
            views = self._rgb_float(inputs, self._channel_conversion)
        if self._enable_normalize:
            views = [(v - self.mean) / self.std for v in views]
        return dict(inputs=views, data_samples=samples)


def device_transform_of(transform: dict) -> Optional[dict]:
    """The device transform replacing a CPU pipeline step, or None.

    ``RandomApply`` of one transform becomes that transform with the
    ``RandomApply`` probability (``prob``).
    """
    name = transform.get('type')
    if name == 'RandomApply' and len(transform.get('transforms', [])) == 1:
        inner = dict(transform['transforms'][0])
        if DEVICE_TRANSFORMS.get(inner.get('type')) is None:
            return None
        inner['prob'] = transform.get('prob', 1.0)
        return inner
    if DEVICE_TRANSFORMS.get(name) is None:
        return None
    return dict(transform)
