#!/usr/bin/env bash
# Convert an MCL checkpoint for mmseg and fine-tune a segmentor with it.
# Usage: tools/benchmarks/mmsegmentation/mim_train.sh CKPT CONFIG GPUS [--cfg-options ...]
#   GPUS=0 trains on the CPU.
set -euo pipefail
CKPT=$1; CONFIG=$2; GPUS=$3
shift 3
NAME=$(basename "$CONFIG" .py)
WORK_DIR=${WORK_DIR:-work_dirs/benchmarks/mmsegmentation/$NAME}
mkdir -p "$WORK_DIR"
python "$(dirname "$0")/../../model_converters/convert_mcl.py" "$CKPT" \
    "$WORK_DIR/pretrained_mmseg.pth" --to mmseg --config "$CONFIG"
LAUNCHER=pytorch; [ "$GPUS" -eq 0 ] && LAUNCHER=none
mim train mmseg "$CONFIG" --gpus "$GPUS" --launcher "$LAUNCHER" \
    --work-dir "$WORK_DIR" \
    --cfg-options model.backbone.init_cfg.checkpoint="$WORK_DIR/pretrained_mmseg.pth" "$@"
