# Copyright (c) mcl_mm contributors. All rights reserved.
"""The montage geometry: one value that every part of a run reads."""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

TilesPerImage = Optional[Union[Sequence[int], Dict[int, int]]]


def tiles_of(scales: Sequence[int],
             tiles_per_image: TilesPerImage) -> Tuple[int, ...]:
    """Tiles per image of each level.

    Args:
        scales (Sequence[int]): r_i of each level.
        tiles_per_image (Sequence[int] | Dict[int, int], optional): One
            entry per level, or a mapping from scale to tiles (scales it
            does not name: one). None is one tile everywhere.

    Returns:
        Tuple[int, ...]: Tiles per image, one per level.
    """
    if tiles_per_image is None:
        return (1, ) * len(scales)
    if isinstance(tiles_per_image, dict):
        return tuple(int(tiles_per_image.get(s, 1)) for s in scales)
    if len(tiles_per_image) != len(scales):
        raise ValueError(
            'model.montage: `tiles_per_image` needs one entry per level: '
            f'expected {len(scales)}, got {len(tiles_per_image)} (a '
            'mapping from scale to tiles, e.g. {8: 2}, follows changes '
            'of scales)')
    return tuple(int(t) for t in tiles_per_image)


@dataclass(frozen=True)
class MontageGeometry:
    """The sizes of a montage run, from ``model.montage``.

    The data pipeline (:class:`MontageAssembly`), the tiler, the encoder,
    the data preprocessor and :class:`MontageBatchCheckHook` read their
    sizes from this one value: level ``i`` shrinks its copies by ``r_i``
    into tiles of ``resolution // r_i`` pixels, ``r_i x r_i`` tiles per
    montage of ``resolution`` pixels.

    Blur radii of a view pipeline are in pixels of a ``resolution``-sized
    view, the copy the MCL authors blur before they shrink it to its tile:
    a copy of side ``s`` is blurred by ``s / resolution`` of them
    (:meth:`blur_scale`), on the CPU and on the device alike.

    Args:
        resolution (int): Side of every montage in pixels.
        scales (Sequence[int]): r_i of each level. Defaults to (1, 2, 4).
        tiles_per_image (Sequence[int] | Dict[int, int], optional): Tiles
            per image, one entry per level, or a mapping from scale to
            tiles (the authors' S=4 setting is ``{8: 2}``). Defaults to
            one tile per image at every level.
    """

    resolution: int
    scales: Tuple[int, ...] = (1, 2, 4)
    tiles_per_image: TilesPerImage = None

    #: The keys of ``model.montage`` that are geometry (the tiler's other
    #: arguments, such as its interpolation, are not).
    KEYS = ('resolution', 'scales', 'tiles_per_image')

    def __post_init__(self) -> None:
        scales = tuple(int(s) for s in self.scales)
        if len(scales) < 1:
            raise ValueError('model.montage: `scales` must name at least one '
                             f'level, got {scales}')
        if any(s < 1 for s in scales):
            raise ValueError(f'model.montage: every scale must be >= 1, got '
                             f'scales={scales}')
        for i, s in enumerate(scales):
            if self.resolution % s:
                raise ValueError(
                    f'model.montage: resolution {self.resolution} is not '
                    f'divisible by the level-{i} scale {s}: tiles must be '
                    'whole pixels')
        tiles = tiles_of(scales, self.tiles_per_image)
        if any(t < 1 for t in tiles):
            raise ValueError('model.montage: `tiles_per_image` entries must '
                             f'be >= 1, got {tiles}')
        object.__setattr__(self, 'resolution', int(self.resolution))
        object.__setattr__(self, 'scales', scales)
        object.__setattr__(self, 'tiles_per_image', tiles)

    @classmethod
    def from_cfg(cls, cfg: dict) -> 'MontageGeometry':
        """The geometry of a ``model.montage`` config (its other keys are
        left out).

        Args:
            cfg (dict): ``model.montage`` (or a ``MontageAssembly``'s
                ``geometry``).

        Returns:
            MontageGeometry: The geometry.
        """
        if 'resolution' not in cfg:
            raise ValueError(f'model.montage: `resolution` is missing in '
                             f'{dict(cfg)}')
        return cls(**{k: cfg[k] for k in cls.KEYS if k in cfg})

    def to_cfg(self) -> dict:
        """dict: The geometry as config keys (:meth:`from_cfg` inverts
        it)."""
        return dict(
            resolution=self.resolution,
            scales=self.scales,
            tiles_per_image=self.tiles_per_image)

    @property
    def num_levels(self) -> int:
        """int: Number of montage levels S."""
        return len(self.scales)

    def tile_size(self, level: int) -> int:
        """int: Side in pixels of a tile of ``level``."""
        return self.resolution // self.scales[level]

    @property
    def tile_sizes(self) -> List[int]:
        """List[int]: Side of a tile of each level."""
        return [self.tile_size(i) for i in range(self.num_levels)]

    def crop_sizes(self, full_size_copies: bool = False) -> List[int]:
        """Side of the copy each level's view pipeline crops.

        Args:
            full_size_copies (bool): Whether every level's copy is cropped
                at ``resolution`` and shrunk on the device (the authors'
                way) instead of cropped straight to its tile size.

        Returns:
            List[int]: One side per level.
        """
        if full_size_copies:
            return [self.resolution] * self.num_levels
        return self.tile_sizes

    def blur_scale(self, size: int) -> float:
        """The factor on blur radii for a copy of side ``size``: radii are
        in pixels of a ``resolution``-sized view.

        Args:
            size (int): Side of the copy in pixels.

        Returns:
            float: ``size / resolution``.
        """
        return size / self.resolution

    @property
    def batch_multiple(self) -> int:
        """int: The smallest batch size that fits every level."""
        multiple = 1
        for s, t in zip(self.scales, self.tiles_per_image):
            need = s * s // math.gcd(s * s, t)
            multiple = multiple * need // math.gcd(multiple, need)
        return multiple

    def num_montages(self, batch_size: int) -> List[int]:
        """Montages per level for a batch of ``batch_size`` images.

        Args:
            batch_size (int): Images per process.

        Returns:
            List[int]: Montages of each level.

        Raises:
            ValueError: If a level's tiles do not fill whole montages.
        """
        counts = []
        for i, (s, t) in enumerate(zip(self.scales, self.tiles_per_image)):
            tiles = batch_size * t
            if tiles % (s * s):
                raise ValueError(
                    f'model.montage: a per-GPU batch of {batch_size} images '
                    f'does not fit level {i}: {batch_size} x {t} tile(s) per '
                    f'image = {tiles} tiles is not a multiple of the {s}x{s} '
                    f'= {s * s} tiles of one montage. Use a per-GPU batch '
                    f'size that is a multiple of {self.batch_multiple} (and '
                    'drop_last=True in the dataloader).')
            counts.append(tiles // (s * s))
        return counts
