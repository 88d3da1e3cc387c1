# Copyright (c) mcl_mm contributors. All rights reserved.
"""The data pipeline follows the model's montage: one named mechanism."""
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ...augment import apply_device_augment, apply_device_crop
from ...montage import apply_montage_geometry


@RUNNERS.register_module()
class MontageRunner(Runner):
    """mmengine's ``Runner`` for montage models: before building anything,
    the training pipeline takes its geometry from ``model.montage``
    (:func:`apply_montage_geometry`), so ``--cfg-options
    model.montage.scales=(1,2)`` changes the whole run, the photometric
    view transforms move to the device (:func:`apply_device_augment`), and
    on a GPU the crops too (:func:`apply_device_crop`): all of it
    :meth:`prepare_config`.

    Selected with ``runner_type = 'MontageRunner'`` in a config. It is
    registered in mmengine's root ``RUNNERS``: training scripts build the
    runner before any default scope is set.
    """

    @staticmethod
    def prepare_config(cfg: Config) -> Config:
        """What the runner does to a config before it builds anything: the
        geometry, the photometric steps and the crops, in that order.

        Args:
            cfg (Config): The training config; changed in place.

        Returns:
            Config: ``cfg``.
        """
        return apply_device_crop(
            apply_device_augment(apply_montage_geometry(cfg)))

    @classmethod
    def from_cfg(cls, cfg: Config) -> Runner:
        """Build the runner from ``cfg`` after :meth:`prepare_config`.

        Args:
            cfg (Config): The training config.

        Returns:
            Runner: The runner.
        """
        return super().from_cfg(cls.prepare_config(cfg))
