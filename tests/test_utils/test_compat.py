"""mcl_mm beside a transformers that mmpretrain 1.2.0's multimodal models
cannot import: a stand-in distribution written here (a ``transformers``
package with what mmpretrain's model modules import at their top, and its
``dist-info``), at 5.x without the helpers BLIP takes from
``transformers.modeling_utils``, as transformers 5 is."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mcl_mm.utils.compat import (BLIP_IMPORTS, missing_blip_imports,
                                 transformers_incompatibility)
from conftest import DEMO_CONFIG, ROOT

HELPERS = ('apply_chunking_to_forward', 'find_pruneable_heads_and_indices',
           'prune_linear_layer')
TURNED_OFF = ("mmpretrain's multimodal models (BLIP, BLIP-2, ...) are "
              'turned off')


def _classes(*names: str) -> str:
    return ''.join(f'class {n}:\n    from_config = from_pretrained = None\n'
                   for n in names)


def write_transformers(root, version: str, helpers: bool = False) -> str:
    """A stand-in ``transformers`` distribution under ``root``: what
    mmpretrain's model modules import at their top level (tokenizers and
    auto classes as empty classes), BLIP's names, and the three helpers of
    ``modeling_utils`` only with ``helpers``.

    Returns:
        str: ``root``, to put on ``PYTHONPATH``.
    """
    root = str(root)
    modules = {
        '__init__':
        f'__version__ = {version!r}\n' +
        _classes('AutoConfig', 'PreTrainedModel', 'AutoTokenizer',
                 'BartTokenizer', 'BasicTokenizer', 'BertTokenizer',
                 'BertTokenizerFast', 'LlamaTokenizer', 'WordpieceTokenizer') +
        'from .models.auto.auto_factory import _BaseAutoModelClass\n\n\n'
        'class AutoModelForCausalLM(_BaseAutoModelClass):\n    pass\n',
        'activations':
        'ACT2FN = {}\n',
        'modeling_outputs':
        _classes(*BLIP_IMPORTS['transformers.modeling_outputs']),
        'modeling_utils':
        'from . import PreTrainedModel\n' +
        (''.join(f'def {n}(*args):\n    pass\n'
                 for n in HELPERS) if helpers else ''),
        'models/__init__':
        '',
        'models/auto/__init__':
        '',
        'models/auto/auto_factory':
        _classes('_BaseAutoModelClass'),
        'models/bert/__init__':
        '',
        'models/bert/configuration_bert':
        _classes('BertConfig'),
    }
    for name, text in modules.items():
        path = osp.join(root, 'transformers', f'{name}.py')
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
    info = osp.join(root, f'transformers-{version}.dist-info')
    os.makedirs(info, exist_ok=True)
    with open(osp.join(info, 'METADATA'), 'w') as f:
        f.write('Metadata-Version: 2.1\nName: transformers\n'
                f'Version: {version}\n')
    return root


def run_python(pythonpath: str, *args: str) -> subprocess.CompletedProcess:
    """``python *args`` in the repository with ``pythonpath`` first."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (pythonpath, ROOT, env.get('PYTHONPATH')) if p)
    return subprocess.run([sys.executable, *args],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """Writes stand-ins importable in this process; forgets the modules
    they leave behind."""

    def write(version: str, helpers: bool = False) -> None:
        root = tmp_path / version / ('helpers' if helpers else 'bare')
        monkeypatch.syspath_prepend(write_transformers(root, version, helpers))

    yield write
    for name in [m for m in sys.modules if m.split('.')[0] == 'transformers']:
        del sys.modules[name]


def test_transformers_4_with_blip_names_is_compatible(stand_in):
    stand_in('4.40.0', helpers=True)
    assert missing_blip_imports() == ()
    assert transformers_incompatibility() is None


def test_transformers_4_without_the_helpers_is_named(stand_in):
    stand_in('4.99.0')
    expected = tuple(f'transformers.modeling_utils.{n}' for n in HELPERS)
    assert missing_blip_imports() == expected
    reason = transformers_incompatibility()
    assert reason == f'transformers 4.99.0 (it lacks {", ".join(expected)})'


def test_transformers_5_is_incompatible_by_its_version(stand_in):
    stand_in('5.17.0', helpers=True)
    assert transformers_incompatibility() == 'transformers 5.17.0 (>= 5.0.0)'


def test_transformers_older_than_multimodal_needs_is_left_alone(stand_in):
    # mmpretrain leaves its multimodal models out below 4.28 itself
    stand_in('4.27.0')
    assert transformers_incompatibility() is None


BUILD_DEMO = f'''
import glob, sys
import mcl_mm
import numpy as np
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.utils import dependency
from mcl_mm.engine import MontageRunner

init_default_scope('mmpretrain')
cfg = Config.fromfile({DEMO_CONFIG!r})
# the CPU path: mmpretrain's ColorJitter replaced by mcl_mm's
cfg.merge_from_dict({{'model.data_preprocessor.augment_on_device': False}})
cfg = MontageRunner.prepare_config(cfg)
model = MODELS.build(cfg.model)
try:
    MODELS.build(dict(type='BlipCaption'))
except ImportError as err:
    placeholder = 'multimodal' in str(err)
print('built', type(model).__name__, dependency.WITH_MULTIMODAL, placeholder)
# one training step on real photos, the CPU path's colour jitter included
np.random.seed(0)
pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
files = sorted(glob.glob(sys.argv[1] + '/*.png')) * 2
batch = default_collate([pipeline(dict(img_path=f)) for f in files[:16]])
log = model.train_step(batch, build_optim_wrapper(model, cfg.optim_wrapper))
print('step', np.__version__.split('.')[0], sorted(log)[0],
      bool(np.isfinite(float(log['loss']))))
'''


@pytest.mark.slow
def test_mcl_mm_imports_builds_and_trains_the_demo_beside_transformers_5(
        tmp_path, photo_dir):
    """Beside a transformers 5 stand-in: ``import mcl_mm``, the demo model,
    and one training step on the CPU path (the photometric steps in the
    worker, with mcl_mm's ColorJitter), on whichever numpy is installed
    (numpy 2 in the main test environment, numpy 1 in ``make
    test-numpy1``)."""
    path = write_transformers(tmp_path, '5.17.0')
    proc = run_python(path, '-c', BUILD_DEMO, photo_dir)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    # multimodal off, mmpretrain's placeholder in BLIP's place
    assert 'built MCL False True' in proc.stdout, out[-3000:]
    numpy_major = np.__version__.split('.')[0]
    assert f'step {numpy_major} loss True' in proc.stdout, out[-3000:]
    lines = [line for line in out.splitlines() if TURNED_OFF in line]
    assert len(lines) == 1, out[-3000:]
    assert 'transformers 5.17.0' in lines[0] and 'WARNING' in lines[0]


@pytest.mark.slow
def test_stand_in_reproduces_the_failure_without_mcl_mm(tmp_path):
    path = write_transformers(tmp_path, '5.17.0')
    proc = run_python(path, '-c', 'import mmpretrain.models')
    assert proc.returncode != 0
    assert 'TypeError: NoneType takes no arguments' in proc.stderr
    assert osp.join('multimodal', 'blip', 'language_model.py') in proc.stderr


@pytest.mark.slow
def test_train_names_a_multimodal_failure_the_import_does_not_catch(tmp_path):
    # BLIP's names are there, so mcl_mm leaves the models on; BLIP-2's
    # OPT model then fails on a name the stand-in lacks
    path = write_transformers(tmp_path / 'tf', '4.99.0', helpers=True)
    proc = run_python(path, osp.join('tools', 'train.py'), DEMO_CONFIG,
                      '--work-dir', str(tmp_path / 'work'))
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert TURNED_OFF not in proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: mmpretrain's multimodal models do not "
                           'import with transformers 4.99.0 (ImportError: '
                           "cannot import name 'BaseModelOutputWithPast'")
    assert 'pip install "transformers<5"' in last
