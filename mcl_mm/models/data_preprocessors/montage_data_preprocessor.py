# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.model.utils import stack_batch
from torch import nn

from mmpretrain.models.utils import SelfSupDataPreprocessor
from mmpretrain.registry import MODELS
from ...augment import FusedAugment, build_augment, stage_signature
from ...montage import MontageGeometry, resized_crops, split_views, view_index


@MODELS.register_module()
class MontageDataPreprocessor(SelfSupDataPreprocessor):
    """mmpretrain's ``SelfSupDataPreprocessor`` that also runs the
    photometric part of each view pipeline on the device.

    During training, the view batches of pipeline ``p`` (levels ``0..S-1``,
    :func:`split_views`) pass ``augments[p]`` in order, on RGB floats in
    [0, 255] before normalisation, each image copy with its own random
    parameters, before they are tiled; evaluation passes nothing.
    ``augments`` uses the CPU transforms' names and arguments: each is
    built as the augmentation spec registered under that name
    (:data:`mcl_mm.augment.AUGMENTS`); :class:`MontageRunner` moves them
    there from the training pipeline when ``augment_on_device`` is True
    (:func:`mcl_mm.augment.apply_device_augment`), so the CPU workers only
    decode, crop, resize and flip.

    By default the specs of all pipelines run fused
    (:class:`mcl_mm.augment.FusedAugment`: one affine colour map per image,
    a separable blur with Pillow's kernel, solarize in place, the views of
    a level batched together): 147 aten ops per step at S=4 instead of
    4700. ``fuse_augments=False`` runs each spec's per-op form on its own
    (:meth:`mcl_mm.augment.AugmentSpec.forward`: Pillow's HSV hue,
    kornia's sampled Gaussian, a clamp after every op).

    On a GPU (``crop_on_device``), the crops are cut here too: the CPU
    workers decode each image once and draw every view's crop box and flip
    (``MontageAssembly(crop_on_device=True)``, the same draws as their
    crops), and pad the batch's images into one tensor
    (:func:`mcl_mm.datasets.pad_collate`); this cuts and resizes all boxes
    of a level in one batched op (:func:`mcl_mm.montage.resized_crops`:
    Pillow's antialiased filter of the view pipeline's
    ``RandomResizedCrop``, rounded to 8-bit levels) before the photometric
    steps.

    Blur radii are in pixels of a ``resolution``-sized view: a level whose
    copies are smaller (cropped straight to their tile size, the
    ``MontageAssembly`` default) is blurred in proportion, as the full-size
    copy would be before it is shrunk (the authors' order). The factor is
    :meth:`MontageGeometry.blur_scale`, the one the CPU path uses; the
    montage model sets :attr:`geometry` from ``model.montage`` when it is
    built.

    Args:
        augments (Sequence[Sequence[dict]]): Per view pipeline, the
            augmentation specs' configs. Defaults to none.
        augment_on_device (bool): Whether :class:`MontageRunner` moves the
            photometric transforms here. False keeps them on the CPU.
            Defaults to True.
        blur_per_level (bool): Whether blur radii scale with each level's
            copy size (see above). False blurs every level with the
            full-size radii in its own pixels, 2x-8x the authors' blur at
            levels 1-3 of S=4. Defaults to True.
        fuse_augments (bool): Whether the transforms run fused (see
            above). Defaults to True.
        geometry (dict, optional): The montage geometry (see above). A
            preprocessor built on its own takes its first level's copies
            as ``resolution``-sized. Defaults to None.
        crop_on_device (bool | str): Whether the crops are cut here (see
            above): ``'auto'`` when training on a GPU with
            ``augment_on_device``. :class:`MontageRunner` resolves it and
            sets the training pipeline up for it. Defaults to ``'auto'``.
        crop_interpolation (str | Sequence[str]): Per view pipeline, the
            Pillow filter of its crop (the ``RandomResizedCrop``'s
            ``interpolation``, copied by :class:`MontageRunner`). Defaults
            to ``'bicubic'``.
        full_size_copies (bool): Whether every level's copy is cut at the
            montage resolution (``MontageAssembly``'s switch, copied by
            :class:`MontageRunner`) instead of its tile size. Defaults to
            False.
        **kwargs: ``SelfSupDataPreprocessor``'s arguments.
    """

    def __init__(self,
                 augments: Sequence[Sequence[dict]] = (),
                 augment_on_device: bool = True,
                 blur_per_level: bool = True,
                 fuse_augments: bool = True,
                 geometry: Optional[dict] = None,
                 crop_on_device: Union[bool, str] = 'auto',
                 crop_interpolation: Union[str, Sequence[str]] = 'bicubic',
                 full_size_copies: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.crop_on_device = crop_on_device
        self.crop_interpolation = [crop_interpolation] if isinstance(
            crop_interpolation, str) else list(crop_interpolation)
        self.full_size_copies = full_size_copies
        self.geometry = None if geometry is None else \
            MontageGeometry.from_cfg(geometry)
        self.augment_on_device = augment_on_device
        self.blur_per_level = blur_per_level
        self.augments = nn.ModuleList(
            nn.ModuleList(build_augment(t) for t in pipeline)
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
            FusedAugment([self.augments[p] for p in pipelines])
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
                scales = self.blur_scales(copies)
                for v, scale in zip(copies, scales):
                    for transform in augment:
                        v = transform(v, scale)
                    out.append(v)
        return out

    def blur_scales(self, copies: Sequence[torch.Tensor]) -> List[float]:
        """The factor on blur radii of each level's copies.

        Args:
            copies (Sequence[torch.Tensor]): One view batch per level.

        Returns:
            List[float]: :meth:`MontageGeometry.blur_scale` of each side
            (all 1 without ``blur_per_level``).
        """
        if not self.blur_per_level:
            return [1.] * len(copies)
        if self.geometry is None:
            return [v.size(-1) / copies[0].size(-1) for v in copies]
        return [self.geometry.blur_scale(v.size(-1)) for v in copies]

    def _augment_fused(self, levels: List[List[torch.Tensor]],
                       bgr: bool) -> List[torch.Tensor]:
        """Each set of pipelines with the same steps through its
        :class:`FusedAugment`; the views back in ``split_views``' order."""
        out: List[torch.Tensor] = [None] * sum(map(len, levels))
        scales = self.blur_scales(levels[0])
        for pipelines, fused in zip(self.fused_pipelines, self.fused):
            done = iter(
                fused([v for p in pipelines for v in levels[p]], bgr, scales))
            for p in pipelines:
                for level in range(len(levels[p])):
                    out[view_index(p, level, len(levels[p]))] = next(done)
        return out

    def crop(self, images: Union[torch.Tensor, List[torch.Tensor]],
             boxes: torch.Tensor) -> List[torch.Tensor]:
        """Cut every view's crop from the batch's images.

        Args:
            images (torch.Tensor | List[torch.Tensor]): The batch padded
                into one ``(B, 3, H, W)`` tensor (``pad_collate``), or one
                ``(3, H, W)`` image per sample, any sizes.
            boxes (torch.Tensor): ``(B, V, 5)`` crop boxes and flips in
                :func:`view_index` order (``MontageAssembly.draw_boxes``).

        Returns:
            List[torch.Tensor]: The ``V`` view batches, float32 grey levels
            in [0, 255], each level's copies at its crop size.
        """
        if self.geometry is None:
            raise ValueError(
                'MontageDataPreprocessor: crop boxes arrived but no '
                'geometry is set: build it through a montage model')
        sizes = self.geometry.crop_sizes(self.full_size_copies)
        levels = len(sizes)
        pipelines = boxes.size(1) // levels
        interpolation = self.crop_interpolation
        if len(interpolation) == 1:
            interpolation = interpolation * pipelines
        if boxes.size(1) != pipelines * levels or \
                len(interpolation) != pipelines:
            raise ValueError(
                f'MontageDataPreprocessor: {boxes.size(1)} crop boxes per '
                f'image for {levels} levels and crop interpolations '
                f'{self.crop_interpolation}: expected one box per level and '
                'view pipeline, one interpolation per pipeline')
        batch = images if isinstance(images, torch.Tensor) else \
            stack_batch(images)
        views: List[torch.Tensor] = [None] * boxes.size(1)
        # float32 also under AMP (the preprocessor runs in the optimiser's
        # autocast): 8-bit levels need more than bfloat16's 8 bits
        with torch.autocast(batch.device.type, enabled=False):
            for level, size in enumerate(sizes):
                for name in dict.fromkeys(interpolation):  # one op a filter
                    index = [
                        view_index(p, level, levels) for p in range(pipelines)
                        if interpolation[p] == name
                    ]
                    crops = resized_crops(batch, boxes[:, index], size, name)
                    for j, k in enumerate(index):
                        views[k] = crops[:, j]
        return views

    @staticmethod
    def crop_boxes(samples: Optional[list],
                   device: torch.device) -> Optional[torch.Tensor]:
        """The samples' ``crop_boxes`` as one ``(B, V, 5)`` tensor, or None
        when the views arrive cut."""
        if not samples or 'crop_boxes' not in samples[0]:
            return None
        return torch.as_tensor(
            np.stack([np.asarray(s.crop_boxes) for s in samples]),
            device=device)

    @torch.compiler.disable
    def _cast_samples(self, samples: Optional[list]) -> Optional[list]:
        """``cast_data`` of the data samples, which ``torch.compile`` does
        not trace: their copy would guard on every string of their
        metainfo, and each batch would compile the preprocessor anew."""
        return self.cast_data(samples)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Cast to the device, RGB float, augment (training), normalise.

        Args:
            data (dict): ``inputs`` (a list of uint8 view batches, or of
                images when the samples carry ``crop_boxes``) and
                ``data_samples``.
            training (bool): Whether to augment.

        Returns:
            dict: ``inputs`` (list of normalised views) and
            ``data_samples``.
        """
        inputs = self.cast_data(data['inputs'])
        samples = self._cast_samples(data.get('data_samples'))
        boxes = self.crop_boxes(samples, inputs[0].device)
        if boxes is not None:
            inputs = self.crop(inputs, boxes)
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
