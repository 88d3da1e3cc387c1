import pickle
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mcl_mm  # noqa: F401


def test_message_hub_state_loads_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('mcl_safe_load_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/lr', np.float64(0.1))
    hub.update_info('iter', np.int64(7))
    path = tmp_path / 'ckpt.pth'
    torch.save(
        dict(
            message_hub=hub.state_dict(),
            meta=dict(seed=np.int64(3)),
            state_dict=dict(w=torch.ones(2))), path)
    loaded = torch.load(path, weights_only=True)
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
    assert loaded['meta']['seed'] == 3


class _Payload:

    def __reduce__(self):
        return (print, ('this must never run', ))


def test_unexpected_pickled_object_is_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, extra=_Payload()), path)
    with pytest.raises(
            pickle.UnpicklingError,
            match='GLOBAL print was not an allowed global'):
        torch.load(path, weights_only=True)


class _Sneaky:
    """Pickles as getattr(HistoryBuffer, '__init__'): not a statistic."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_resolves_only_history_buffer_statistics(tmp_path):
    path = tmp_path / 'sneaky.pth'
    torch.save(dict(extra=_Sneaky()), path)
    with pytest.raises(
            pickle.UnpicklingError,
            match=r"getattr\(HistoryBuffer, '__init__'\)"):
        torch.load(path, weights_only=True)


def test_mmengine_message_hub_leaves_no_unsafe_global(tmp_path):
    hub = MessageHub.get_instance('mcl_safe_load_exact')
    hub.update_scalar('train/loss', np.float32(2.0))
    path = tmp_path / 'hub.pth'
    torch.save(dict(message_hub=hub.state_dict()), path)
    with zipfile.ZipFile(path) as z:
        data = z.read(next(n for n in z.namelist() if n.endswith('data.pkl')))
    assert b'HistoryBuffer' in data and b'getattr' in data
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
