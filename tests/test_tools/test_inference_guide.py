"""The inference guide's Python blocks run as written, on a checkpoint made
here, and print what the guide says."""
import contextlib
import io
import os
import os.path as osp
import re
import subprocess
import sys

from conftest import ROOT

GUIDE = osp.join(ROOT, 'docs', 'en', 'user_guides', 'inference.md')
PYTHON = re.compile(r'^```python\n(.*?)^```', re.M | re.S)


def _blocks():
    with open(GUIDE, encoding='utf-8') as f:
        return PYTHON.findall(f.read())


def _run(code: str, **paths) -> str:
    """Execute ``code`` in the repository root with each ``name = '...'``
    line of ``paths`` pointing to a file made here; its printed output."""
    for name, path in paths.items():
        code, n = re.subn(
            rf"^{name} = '[^']*'$", f'{name} = {path!r}', code, flags=re.M)
        assert n == 1, name
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, GUIDE, 'exec'), {'__name__': '__guide__'})
    finally:
        os.chdir(cwd)
    return out.getvalue()


def test_feature_extraction_block_prints_the_shapes_it_states(mcl_ckpt):
    _, path = mcl_ckpt
    # mmengine's load_checkpoint prints where it loads from first
    out = _run(_blocks()[0], checkpoint=path).splitlines()[-2:]
    assert out[0] == ('[(1, 256, 56, 56), (1, 512, 28, 28), '
                      '(1, 1024, 14, 14), (1, 2048, 7, 7)]')
    assert out[1] == ('[(1, 256, 56, 56), (1, 256, 28, 28), '
                      '(1, 256, 14, 14), (1, 256, 7, 7)]')


def test_torchvision_block_loads_all_but_fc(mcl_ckpt, tmp_path):
    _, path = mcl_ckpt
    converted = str(tmp_path / 'mcl_r50_torchvision.pth')
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'model_converters', 'convert_mcl.py'), path,
        converted, '--to', 'torchvision'
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    block = _blocks()[1].replace("'mcl_r50_torchvision.pth'", repr(converted))
    out = _run(block)
    assert out.strip() == ("_IncompatibleKeys(missing_keys=['fc.weight', "
                           "'fc.bias'], unexpected_keys=[])")
