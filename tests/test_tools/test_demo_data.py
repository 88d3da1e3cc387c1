import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from benchmarks.demo_data import copy_photos, make_jpeg_folder, skimage_photos
from conftest import DEMO_CONFIG, ROOT


def test_copied_photos_keep_their_pixels_and_drop_icc(tmp_path):
    sources = skimage_photos()
    copies = copy_photos(str(tmp_path), limit=5)
    assert [osp.basename(p)
            for p in copies] == [osp.basename(p) for p in sources[:5]]
    for src, dst in zip(sources, copies):
        with Image.open(src) as a, Image.open(dst) as b:
            assert np.array_equal(np.asarray(a), np.asarray(b))
            if dst.endswith('.png'):
                assert 'icc_profile' not in b.info


@pytest.mark.slow
def test_visualize_montage_writes_a_png(tmp_path, photo_dir):
    out = tmp_path / 'montages.png'
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'visualize_montage.py'), DEMO_CONFIG, '--out',
        str(out), '--cfg-options',
        f'train_dataloader.dataset.data_root={photo_dir}'
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with Image.open(out) as img:
        # 2 views x 3 levels of rows, 4 montages a row at 260 px each
        assert img.size == (1040, 1560)
    assert str(out) in proc.stdout


def test_jpeg_folder_is_imagenet_sized_and_reproducible(tmp_path):
    first = make_jpeg_folder(str(tmp_path / 'a'), 6, seed=3)
    again = make_jpeg_folder(str(tmp_path / 'b'), 6, seed=3)
    other = make_jpeg_folder(str(tmp_path / 'c'), 6, seed=4)
    assert len(first) == 6
    for a, b, c in zip(first, again, other):
        with Image.open(a) as img:
            assert img.size == (500, 375) and img.format == 'JPEG'
        assert open(a, 'rb').read() == open(b, 'rb').read()
    assert any(
        open(a, 'rb').read() != open(c, 'rb').read()
        for a, c in zip(first, other))
