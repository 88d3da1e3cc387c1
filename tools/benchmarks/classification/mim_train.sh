#!/usr/bin/env bash
# Linear evaluation with mmpretrain: the MCL checkpoint's backbone.* keys
# load directly (no conversion).
# Usage: tools/benchmarks/classification/mim_train.sh CKPT CONFIG GPUS [--cfg-options ...]
set -euo pipefail
CKPT=$1; CONFIG=$2; GPUS=$3
shift 3
NAME=$(basename "$CONFIG" .py)
WORK_DIR=${WORK_DIR:-work_dirs/benchmarks/classification/$NAME}
LAUNCHER=pytorch; [ "$GPUS" -eq 0 ] && LAUNCHER=none
mim train mmpretrain "$CONFIG" --gpus "$GPUS" --launcher "$LAUNCHER" \
    --work-dir "$WORK_DIR" \
    --cfg-options model.backbone.init_cfg.checkpoint="$CKPT" "$@"
