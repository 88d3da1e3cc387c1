from types import SimpleNamespace

import pytest

from mcl_mm.engine import MontageBatchCheckHook
from mcl_mm.models import MontageTiler


def _runner(batch_size, num_images, drop_last):
    loader = SimpleNamespace(batch_size=batch_size, drop_last=drop_last,
                             dataset=list(range(num_images)))
    model = SimpleNamespace(tiler=MontageTiler(32, scales=(1, 2, 4)))
    return SimpleNamespace(model=model, train_dataloader=loader)


def test_batch_size_that_fits_passes():
    MontageBatchCheckHook().before_train(_runner(32, 100, True))
    MontageBatchCheckHook().before_train(_runner(16, 64, False))


def test_batch_size_that_does_not_fit_names_the_field():
    with pytest.raises(ValueError,
                       match=r'train_dataloader.batch_size=24: .*level 2.*'
                       r'multiple of 16'):
        MontageBatchCheckHook().before_train(_runner(24, 100, True))


def test_partial_last_batch_needs_drop_last():
    with pytest.raises(ValueError, match=r'last batch of 4 images .*'
                       'drop_last=True'):
        MontageBatchCheckHook().before_train(_runner(16, 100, False))
