#!/usr/bin/env bash
# Convert an MCL checkpoint for mmdet and fine-tune a detector with it.
# Usage: tools/benchmarks/mmdetection/mim_train.sh CKPT CONFIG GPUS [TARGET] [--cfg-options ...]
#   TARGET: mmdet (Mask R-CNN FPN, default), mmdet-retinanet, mmdet-c4
#   GPUS=0 trains on the CPU.
set -euo pipefail
CKPT=$1; CONFIG=$2; GPUS=$3; TARGET=${4:-mmdet}
shift $(( $# < 4 ? $# : 4 ))
NAME=$(basename "$CONFIG" .py)
WORK_DIR=${WORK_DIR:-work_dirs/benchmarks/mmdetection/$NAME}
mkdir -p "$WORK_DIR"
python "$(dirname "$0")/../../model_converters/convert_mcl.py" "$CKPT" \
    "$WORK_DIR/pretrained_$TARGET.pth" --to "$TARGET" --config "$CONFIG"
LAUNCHER=pytorch; [ "$GPUS" -eq 0 ] && LAUNCHER=none
mim train mmdet "$CONFIG" --gpus "$GPUS" --launcher "$LAUNCHER" \
    --work-dir "$WORK_DIR" \
    --cfg-options load_from="$WORK_DIR/pretrained_$TARGET.pth" "$@"
