#!/usr/bin/env bash
# Build (once) and install mmcv 2.1.0 WITH its CUDA ops for the torch of
# PYTHON, then the OpenMMLab stack and mcl_mm. Pre-training needs no
# compiled op; transfer (mmdet's RoIAlign and NMS), MaskCo and the dense
# probe do. The wheel is kept under MCL_CACHE, keyed by mmcv, torch, CUDA,
# Python and GPU architectures, and reused.
#
# Environment variables:
#   PYTHON                 the interpreter with a CUDA build of torch (python3)
#   MCL_CACHE              where built wheels are kept (~/.cache/mcl_mm)
#   TORCH_CUDA_ARCH_LIST   architectures to build for (default: the visible
#                          GPUs', else torch's own list)
#   MAX_JOBS               parallel compile jobs (default: all cores)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
CACHE=${MCL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcl_mm}
MMCV_VERSION=2.1.0

cat <<'MSG'
[setup-gpu] mmcv 2.1.0 with CUDA ops. Pre-training (MCL, SS-PRL, BYOL)
[setup-gpu] needs no compiled op: `pip install mmcv==2.1.0` without ops
[setup-gpu] (MMCV_WITH_OPS=0) is enough there. Transfer (mmdet's RoIAlign,
[setup-gpu] NMS), MaskCo and the dense probe need these ops. The build
[setup-gpu] takes tens of minutes (about 13 min for the CPU ops alone on
[setup-gpu] 2 cores); the wheel is cached and reused.
MSG

die() { echo "[setup-gpu] error: $*" >&2; exit 2; }

"$PYTHON" -c 'import torch' 2>/dev/null ||
  die "$PYTHON has no torch: install a CUDA build of torch first (pytorch.org)"
TORCH_CUDA=$("$PYTHON" -c 'import torch; print(torch.version.cuda or "")')
[ -n "$TORCH_CUDA" ] ||
  die "$PYTHON's torch is a CPU build (torch.version.cuda is None): install a CUDA build, or use 'make setup' for the CPU"
NVCC=${CUDA_HOME:+$CUDA_HOME/bin/nvcc}
[ -n "$NVCC" ] && [ -x "$NVCC" ] || NVCC=$(command -v nvcc || true)
[ -n "$NVCC" ] ||
  die "nvcc not found (CUDA_HOME unset, none on PATH): install the CUDA toolkit $TORCH_CUDA that torch was built with, or skip this step (pre-training needs no compiled op)"

if [ -z "${TORCH_CUDA_ARCH_LIST:-}" ]; then
  TORCH_CUDA_ARCH_LIST=$("$PYTHON" -c '
import torch
caps = {torch.cuda.get_device_capability(i)
        for i in range(torch.cuda.device_count())}
print(";".join(f"{a}.{b}" for a, b in sorted(caps)))' 2>/dev/null || true)
fi
export TORCH_CUDA_ARCH_LIST
TORCH_TAG=$("$PYTHON" -c 'import torch; print(torch.__version__)')
PY_TAG=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
ARCH_TAG=$(echo "${TORCH_CUDA_ARCH_LIST:-torch-default}" | tr ';. ' '_-_')
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch-$TORCH_TAG-cuda-$TORCH_CUDA-$PY_TAG-sm-$ARCH_TAG"
PIP=("$PYTHON" -m pip install --disable-pip-version-check -q)

if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  echo "[setup-gpu] building mmcv $MMCV_VERSION for torch $TORCH_TAG, CUDA $TORCH_CUDA ($NVCC), architectures ${TORCH_CUDA_ARCH_LIST:-the torch default}"
  BUILD=$(mktemp -d)
  "${PIP[@]}" -r "$ROOT/requirements/build.txt"
  "$PYTHON" -m pip download --disable-pip-version-check -q --no-deps \
    --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$BUILD"
  tar xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
  # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17
  sed -i "s/-std=c++17/-std=c++20/g" "$BUILD/mmcv-$MMCV_VERSION/setup.py"
  CUDA_HOME=$(dirname "$(dirname "$NVCC")") MMCV_WITH_OPS=1 FORCE_CUDA=1 \
    MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "$PYTHON" -m pip wheel --disable-pip-version-check -q --no-deps \
    --no-build-isolation --no-cache-dir -w "$BUILD/dist" \
    "$BUILD/mmcv-$MMCV_VERSION"
  mkdir -p "$WHEEL_DIR"
  cp "$BUILD"/dist/mmcv-*.whl "$WHEEL_DIR/"
  rm -rf "$BUILD"
fi
"${PIP[@]}" --no-cache-dir "$WHEEL_DIR"/mmcv-*.whl
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt"
"${PIP[@]}" --no-deps -e "$ROOT"
"$PYTHON" - <<'PY'
import torch, mmcv
from mmcv.ops import RoIAlign, nms  # noqa: F401
import mcl_mm  # noqa: F401
print(f'[setup-gpu] ready: torch {torch.__version__}, mmcv {mmcv.__version__} '
      f'with CUDA ops, CUDA available: {torch.cuda.is_available()}')
PY
