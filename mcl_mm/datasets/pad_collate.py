# Copyright (c) mcl_mm contributors. All rights reserved.
from typing import Sequence

from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from torch.utils.data import get_worker_info


@FUNCTIONS.register_module()
def pad_collate(data_batch: Sequence[dict]) -> dict:
    """mmengine's ``pseudo_collate`` with the images of different sizes
    padded (right and below, with zeros) into one tensor.

    A data worker hands one tensor per batch to the main process, made
    straight in shared memory as torch's ``default_collate`` makes it,
    instead of one shared-memory file per image; the main process copies
    it to the device in one transfer. The crops on the device
    (``MontageDataPreprocessor.crop``) never read the padding.

    Args:
        data_batch (Sequence[dict]): Packed samples (``inputs``: a
            ``(C, H, W)`` tensor each, ``data_samples``).

    Returns:
        dict: ``inputs``, a ``(B, C, H_max, W_max)`` tensor, and the
        samples' ``data_samples`` as a list.
    """
    batch = pseudo_collate(data_batch)
    images = batch['inputs']
    first = images[0]
    height = max(x.size(-2) for x in images)
    width = max(x.size(-1) for x in images)
    shape = (len(images), first.size(0), height, width)
    out = None
    if get_worker_info() is not None:  # shared memory, no extra copy
        numel = shape[0] * shape[1] * height * width
        storage = first._typed_storage()._new_shared(numel)
        out = first.new(storage).resize_(*shape)
    else:
        out = first.new_empty(shape)
    for i, image in enumerate(images):
        h, w = image.shape[-2:]
        out[i, :, :h, :w] = image
        out[i, :, h:] = 0
        out[i, :, :h, w:] = 0
    batch['inputs'] = out
    return batch
