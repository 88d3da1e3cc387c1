# Copyright (c) mcl_mm contributors. All rights reserved.
import copy
from typing import List, Optional, Sequence

from mmcv.transforms import Compose

from mmpretrain.datasets.transforms import MultiView
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class MontageAssembly(MultiView):
    """Make the per-image views that MCL tiles into montages.

    Each of the two view pipelines (BYOL's A and B) is applied once per level
    with its own random draw, so every level sees an independently augmented
    copy: the output ``img`` is the list ``[A_0, ..., A_{S-1}, B_0, ...,
    B_{S-1}]``. The tiling itself happens batched on the device
    (:class:`MontageTiler`).

    Args:
        num_levels (int): Number of montage levels S.
        transforms (List[List[dict]]): The two view pipelines.
        tile_sizes (Sequence[int], optional): When given, level ``i``'s
            ``RandomResizedCrop`` outputs ``tile_sizes[i]`` pixels directly,
            instead of a full-size copy that the device then shrinks: less
            CPU work and host-to-device traffic for the same montages.
            Defaults to None (every copy at the pipeline's own size, as the
            authors do).
    """

    def __init__(self,
                 num_levels: int,
                 transforms: List[List[dict]],
                 tile_sizes: Optional[Sequence[int]] = None) -> None:
        if num_levels < 1:
            raise ValueError('MontageAssembly: num_levels must be >= 1, got '
                             f'{num_levels}')
        if len(transforms) != 2:
            raise ValueError('MontageAssembly: expected the 2 view pipelines '
                             f'of BYOL, got {len(transforms)}')
        if tile_sizes is not None and len(tile_sizes) != num_levels:
            raise ValueError('MontageAssembly: tile_sizes needs one size per '
                             f'level: expected {num_levels}, got '
                             f'{len(tile_sizes)}')
        super().__init__(transforms=transforms, num_views=[num_levels] * 2)
        self.num_levels = num_levels
        self.tile_sizes = tile_sizes
        if tile_sizes is not None:
            self.transforms = [
                Compose(self._crop_to(pipeline, size))
                for pipeline in transforms for size in tile_sizes
            ]

    @staticmethod
    def _crop_to(pipeline: List[dict], size: int) -> List[dict]:
        """Copy of ``pipeline`` whose RandomResizedCrop outputs ``size``."""
        pipeline = copy.deepcopy(pipeline)
        crops = [t for t in pipeline if isinstance(t, dict)
                 and t.get('type') in ('RandomResizedCrop',
                                       'mmpretrain.RandomResizedCrop')]
        if len(crops) != 1:
            raise ValueError(
                'MontageAssembly: tile_sizes needs exactly one '
                f'RandomResizedCrop (as a dict) per view pipeline, found '
                f'{len(crops)}')
        crops[0]['scale'] = size
        return pipeline

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_levels={self.num_levels}, '
                f'tile_sizes={self.tile_sizes}, views=[A x {self.num_levels}'
                f', B x {self.num_levels}])')
