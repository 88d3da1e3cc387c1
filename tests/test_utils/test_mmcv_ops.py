"""mmcv without its compiled ops: mcl_mm imports and pre-trains; an op
called names itself and the fix. A finder that hides ``mmcv._ext`` stands
for an mmcv installed with ``MMCV_WITH_OPS=0``."""
import subprocess
import sys

import pytest

from mcl_mm.utils import stand_in_for_missing_ops
from mcl_mm.utils.mmcv_ops import MISSING_OP
from conftest import DEMO_CONFIG, ROOT

HIDE_EXT = '''
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == 'mmcv._ext':
            raise ModuleNotFoundError("No module named 'mmcv._ext'",
                                      name='mmcv._ext')
sys.meta_path.insert(0, Hide())
'''


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', HIDE_EXT + code],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_the_compiled_ops_are_kept_where_mmcv_has_them():
    import mmcv._ext
    assert stand_in_for_missing_ops() is False
    assert sys.modules['mmcv._ext'] is mmcv._ext
    assert hasattr(mmcv._ext, 'roi_align_forward')


@pytest.mark.slow  # two interpreters importing the OpenMMLab stack
def test_pre_training_runs_without_the_ops_and_an_op_names_the_fix():
    proc = _run('import mmdet.models')
    assert proc.returncode != 0 and "No module named 'mmcv._ext'" in \
        proc.stderr
    proc = _run(f'''
import torch
import mcl_mm
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
init_default_scope('mmpretrain')
model = MODELS.build(Config.fromfile({DEMO_CONFIG!r}).model)
print('built', type(model).__name__)
from mmcv.ops import RoIAlign
try:
    RoIAlign(7)(torch.zeros(1, 4, 8, 8), torch.zeros(1, 5))
except RuntimeError as err:
    print('op:', err)
''')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'built MCL' in proc.stdout
    op = MISSING_OP.format(name='roi_align_forward')
    assert f'op: {op}' in proc.stdout, out[-3000:]
    assert out.count('this mmcv has no compiled ops') == 1
