# Copyright (c) mcl_mm contributors. All rights reserved.
"""The interface of an augmentation spec, and the registry of the specs.

A spec is one photometric op of the view recipe, in every form it runs in,
in one file: its parameters (the CPU transform's arguments), its random
draws, its CPU reference, its per-op device form, its stage of the fused
engine (:class:`~mcl_mm.augment.FusedAugment`) and its per-level scaling.
:data:`AUGMENTS` holds the specs under the type names of the CPU
transforms they stand for; a CPU pipeline step has a device form exactly
when its type (or the one transform inside its ``RandomApply``) is there.
"""
from typing import Any, ClassVar, List, NamedTuple, Optional, Sequence

import numpy as np
import torch
from mmengine.registry import Registry
from torch import nn

#: The augmentation specs, keyed by the type name of the CPU transform each
#: stands for (``'ColorJitter'``, ``'RandomGrayscale'``, ...).
AUGMENTS = Registry('augmentation spec')

# Pillow's "L" conversion (ITU-R 601-2), R, G, B
LUMA = (0.299, 0.587, 0.114)


def gray(x: torch.Tensor, weights: Sequence[float] = LUMA) -> torch.Tensor:
    """The weighted channel sum of (N, 3, H, W) RGB images, (N, 1, H, W)."""
    w = x.new_tensor(weights).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def build_augment(cfg: dict) -> 'AugmentSpec':
    """Build an :data:`AUGMENTS` entry from its config (no scope switching:
    the registry is this package's own).

    Args:
        cfg (dict): ``type`` (the CPU transform's name) and the spec's
            arguments.

    Returns:
        AugmentSpec: The spec.

    Raises:
        KeyError: If no spec stands for ``type``.
    """
    args = dict(cfg)
    name = args.pop('type')
    cls = AUGMENTS.get(name)
    if cls is None:
        raise KeyError(f'{name} has no device version; augmentation specs: '
                       f'{sorted(AUGMENTS.module_dict)}')
    return cls(**args)


def spec_config_of(step: dict) -> Optional[dict]:
    """The spec config standing for a CPU pipeline step, or None.

    ``RandomApply`` of one transform becomes that transform with the
    ``RandomApply`` probability as ``prob``; any other step keeps its
    arguments.

    Args:
        step (dict): A step of a CPU view pipeline.

    Returns:
        dict | None: The spec's config, None if no spec stands for it.
    """
    if step.get('type') == 'RandomApply' and len(step.get('transforms',
                                                          [])) == 1:
        inner = dict(step['transforms'][0])
        if AUGMENTS.get(inner.get('type')) is None:
            return None
        inner['prob'] = step.get('prob', 1.0)
        return inner
    if AUGMENTS.get(step.get('type')) is None:
        return None
    return dict(step)


class ViewLayout(NamedTuple):
    """Where each image of one step's views sits in the fused engine: the
    view batches of one size are concatenated into one group.

    Attributes:
        groups (List[List[int]]): Per group, its view batches' indices
            (``split_views``' layout: pipeline ``v // num_levels``, level
            ``v % num_levels``).
        batch (int): Images per view batch.
        num_levels (int): Levels per pipeline.
        sizes (List[tuple]): Per group, its images' (h, w).
        image_scales (List[float]): Per image of the concatenated groups,
            the factor on blur radii of its level (the caller's
            ``blur_scales``).
        group_scales (List[float]): Per group, the largest of its levels'
            factors.
        pipelines (torch.Tensor): Per image, its view pipeline.
        channel_image (torch.Tensor): Per channel of the concatenated
            groups, its image.
    """
    groups: List[List[int]]
    batch: int
    num_levels: int
    sizes: List[tuple]
    image_scales: List[float]
    group_scales: List[float]
    pipelines: torch.Tensor
    channel_image: torch.Tensor


class FusedStage(nn.Module):
    """One step of every view pipeline in the fused engine, on the float
    views of each group, (n, 3, h * w): built by the step's spec from the
    step of each pipeline (:meth:`AugmentSpec.build_stage`)."""

    def prepare(self, layout: ViewLayout) -> Any:
        """What the stage computes once per view layout (indices, scales);
        the engine caches it. Defaults to nothing.

        Args:
            layout (ViewLayout): The step's view layout.
        """
        return None

    def forward(self, params: torch.Tensor, draws: torch.Tensor,
                xs: List[torch.Tensor], layout: ViewLayout,
                prepared: Any) -> List[torch.Tensor]:
        """Apply the step.

        Args:
            params (torch.Tensor): (n, k) each image's parameters (its
                pipeline's :meth:`AugmentSpec.params`).
            draws (torch.Tensor): (n, d) each image's uniform draws.
            xs (List[torch.Tensor]): Per group, (m, 3, h * w) float views.
            layout (ViewLayout): The step's view layout.
            prepared (Any): :meth:`prepare`'s result for ``layout``.

        Returns:
            List[torch.Tensor]: The groups, augmented.
        """
        raise NotImplementedError


class AugmentSpec(nn.Module):
    """One photometric op of the view recipe (see the module doc).

    A subclass, registered in :data:`AUGMENTS` under the CPU transform's
    type name, defines:

    - parameters: ``__init__`` takes the CPU transform's arguments and
      ``prob`` (the ``RandomApply`` probability, or the transform's own);
      :meth:`params` is its row of the fused parameter table;
    - draws: :attr:`draw_width` uniform draws per image, :meth:`values`
      (draws to values) and :meth:`draws_for` (values to draws);
    - the CPU reference: :meth:`cpu_reference`, the mmpretrain / mmcv
      transform at given values (what the tests compare with);
    - the per-op device form: :meth:`transform` (its own draws, kornia and
      float ops; ``model.data_preprocessor.fuse_augments=False`` and the
      reference of the fused stage);
    - the fused stage: a colour spec (:attr:`colour`) composes its 4x4 map
      on (r, g, b, 1) into the colour map of its stage (:meth:`compose`);
      any other builds its own :class:`FusedStage` (:meth:`build_stage`);
    - per-level scaling: an op measured in pixels (blur) scales them by the
      factor the caller passes (``scale`` of :meth:`transform`,
      :attr:`ViewLayout.image_scales` in its stage, from the fused
      engine's ``blur_scales``) and its CPU config in
      :meth:`scaled_config`; it never derives the factor itself.

    Args:
        prob (float): Probability that an image takes the op.
    """

    #: Whether the op is an affine colour map that composes with the other
    #: colour steps next to it into one map per image.
    colour: ClassVar[bool] = False
    #: Uniform draws per image in the fused engine.
    draw_width: ClassVar[int] = 0

    def __init__(self, prob: float = 1.0) -> None:
        super().__init__()
        self.prob = prob

    # ------------------------------------------------------- parameters
    def params(self) -> List[float]:
        """The op's row of the fused parameter table, ``prob`` first."""
        raise NotImplementedError

    @classmethod
    def scaled_config(cls, cfg: dict, factor: float) -> dict:
        """The CPU transform's config for a copy ``factor`` times the
        full-size view's side. Defaults to ``cfg`` (nothing in pixels).

        Args:
            cfg (dict): The CPU transform's config.
            factor (float): The level's factor on sizes in pixels.

        Returns:
            dict: The scaled config.
        """
        return cfg

    # ------------------------------------------------------------ draws
    def values(self, params: torch.Tensor, draws: torch.Tensor) -> Any:
        """Each image's values from its parameters and uniform draws.

        Args:
            params (torch.Tensor): (n, k) rows of :meth:`params`.
            draws (torch.Tensor): (n, :attr:`draw_width`) in [0, 1).
        """
        raise NotImplementedError

    def draws_for(self, **values) -> torch.Tensor:
        """The (:attr:`draw_width`,) uniform draws that apply the op with
        ``values`` (the inverse of :meth:`values`)."""
        raise NotImplementedError

    # ---------------------------------------------------- CPU reference
    def cpu_reference(self, rgb: np.ndarray, **values) -> np.ndarray:
        """The CPU transform this spec stands for, applied with ``values``.

        Args:
            rgb (np.ndarray): H x W x 3 uint8 RGB (made BGR for the CPU
                transform, as ``LoadImageFromFile`` delivers it).
            **values: The op's values (see the subclass).

        Returns:
            np.ndarray: H x W x 3 uint8 RGB.
        """
        raise NotImplementedError

    # ----------------------------------------------------- per-op device
    def transform(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """Transform every image of ``x`` with its own random parameters
        (``x`` itself is left as it is).

        Args:
            x (torch.Tensor): (N, 3, H, W) RGB in [0, 255].
            scale (float): The side of these copies relative to the
                full-size view; only ops measured in pixels use it.
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """The per-op device form on the chosen images of a batch.

        Every image is transformed and a per-image select keeps the
        unchosen ones: no step waits for the device (a boolean index would
        copy the chosen count to the host).

        Args:
            x (torch.Tensor): (N, 3, H, W) RGB in [0, 255].
            scale (float): See :meth:`transform`.

        Returns:
            torch.Tensor: The batch, each image chosen with ``prob``.
        """
        if self.prob <= 0:
            return x
        chosen = torch.rand(x.size(0), device=x.device) < self.prob
        return torch.where(
            chosen.view(-1, 1, 1, 1), self.transform(x, scale), x)

    # ------------------------------------------------------------ fused
    def compose(self, params: torch.Tensor, draws: torch.Tensor,
                maps: torch.Tensor, luma_mu: torch.Tensor) -> torch.Tensor:
        """Compose a colour op onto each image's 4x4 map (colour specs).

        Args:
            params (torch.Tensor): (n, k) rows of :meth:`params`.
            draws (torch.Tensor): (n, :attr:`draw_width`) uniform draws.
            maps (torch.Tensor): (n, 4, 4) the maps of the steps before.
            luma_mu (torch.Tensor): (n, 4, 4) the luma weights times the
                image's (channel means, 1) at the stage's input: the grey
                mean of the image after ``maps`` is ``<maps, luma_mu>``.

        Returns:
            torch.Tensor: (n, 4, 4) this op after ``maps``.
        """
        raise NotImplementedError

    @classmethod
    def build_stage(cls, column: Sequence['AugmentSpec']) -> FusedStage:
        """The fused stage of a step that is not a colour map.

        Args:
            column (Sequence[AugmentSpec]): The step of every view
                pipeline, in pipeline order.

        Returns:
            FusedStage: The stage.
        """
        raise NotImplementedError
