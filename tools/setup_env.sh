#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment for CPU machines:
# torch 2.14.1 + torchvision 0.29.1, mmcv 2.1.0 built with CPU ops, the
# OpenMMLab stack and mcl_mm itself (editable). Safe to run again: it does
# nothing when the environment already matches the requirement files.
#
# Environment variables:
#   MCL_VENV   where the venv lives (default: <repo>/.venv)
#   MCL_CACHE  where built wheels are kept (default: ~/.cache/mcl_mm)
#   PYTHON     interpreter used to create the venv (default: python3.11)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MCL_VENV:-$ROOT/.venv}
CACHE=${MCL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcl_mm}
PYTHON=${PYTHON:-python3.11}
MMCV_VERSION=2.1.0
STAMP=$VENV/.mcl_mm-setup

stamp_of() {
  cat "$ROOT"/requirements/*.txt "$ROOT/tools/setup_env.sh" "$ROOT/setup.py" \
    "$ROOT/setup.cfg" | sha256sum | cut -d' ' -f1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_of)" ]; then
  exit 0
fi

echo "[setup] creating environment in $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" -r "$ROOT/requirements/torch.txt"
"${PIP[@]}" -r "$ROOT/requirements/build.txt"

# mmcv 2.1.0 has no wheel for this torch: build it once from the sdist and
# keep the wheel under a path naming both the mmcv and the torch version, so a
# wheel built against another torch is never reused.
if ! "$VENV/bin/python" -c "from mmcv.ops import RoIAlign, nms" 2>/dev/null; then
  TORCH_TAG=$("$VENV/bin/python" -c "import torch; print(torch.__version__)")
  PY_TAG=$("$VENV/bin/python" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
  WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch-$TORCH_TAG-$PY_TAG-$(uname -m)"
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    echo "[setup] building mmcv $MMCV_VERSION with CPU ops against torch $TORCH_TAG (about 13 min on 2 cores)"
    BUILD=$(mktemp -d)
    "$VENV/bin/python" -m pip download --disable-pip-version-check -q --no-deps \
      --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$BUILD"
    tar xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
    # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
    sed -i "s/-std=c++17/-std=c++20/g" "$BUILD/mmcv-$MMCV_VERSION/setup.py"
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=$(nproc) \
      "$VENV/bin/python" -m pip wheel --disable-pip-version-check -q --no-deps \
      --no-build-isolation --no-cache-dir -w "$BUILD/dist" "$BUILD/mmcv-$MMCV_VERSION"
    mkdir -p "$WHEEL_DIR"
    cp "$BUILD"/dist/mmcv-*.whl "$WHEEL_DIR/"
    rm -rf "$BUILD"
  fi
  "${PIP[@]}" --no-cache-dir "$WHEEL_DIR"/mmcv-*.whl
fi

"${PIP[@]}" -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt" \
  -r "$ROOT/requirements/lint.txt"
# an egg-link (legacy) editable install: mim finds model-index.yml through
# the distribution's location, the repository; the runtime requirements may
# have moved setuptools, so pin it again first
"${PIP[@]}" -r "$ROOT/requirements/build.txt"
"${PIP[@]}" --no-deps --no-build-isolation --no-use-pep517 -e "$ROOT"

"$VENV/bin/python" - <<'EOF'
import torch, mmcv, mmengine, mmpretrain, mmdet, mmseg
from mmcv.ops import RoIAlign, nms  # noqa: F401
import mcl_mm  # noqa: F401
print(f'[setup] torch {torch.__version__}, mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmpretrain {mmpretrain.__version__}, '
      f'mmdet {mmdet.__version__}, mmseg {mmseg.__version__}')
EOF
"$VENV/bin/mim" --version >/dev/null
stamp_of > "$STAMP"
echo "[setup] ready: $VENV"
