#!/usr/bin/env bash
# Every figure of MCL's GPU cost in one call (docs/en/performance.md):
#   1. the device augments alone, fused (default) and per op: aten ops,
#      ms per call and elementwise passes (--mode augment);
#   2. the model step, MCL against stock BYOL, each as its users train it
#      (--mode model --precision amp: MCL at its config's bf16 where the GPU
#      has it and channels-last; BYOL as mmpretrain ships it, trained with
#      tools/train.py --amp: fp16 AMP, NCHW), then both in
#      channels-last, neither in channels-last, MCL compiled (mmengine's
#      compile=True), MCL in float16 (the fidelity row), MCL with the
#      per-op augments, and a profile of one step each;
#   3. one data worker's images/s (--mode data --profile): MCL with its
#      crops on the CPU, MCL with its crops on the device, stock BYOL, and
#      where each worker's time goes;
#   4. real training runs with the configs' warm-up (--mode loader) with 8
#      and with 4 loader workers: MCL's GPU data path (the default on a
#      GPU: crops and photometric steps on the device), its crops on the
#      CPU (photometric steps on the device), and, with 8 workers, its
#      whole pipeline on the CPU and MCL in float16 (its skipped steps
#      counted); stock BYOL beside each.
# R50-FPN, S=4, 224 px, batch 128 unless set; each run has its own time
# limit, so one that fails or hangs costs its limit and the others go on.
# Usage: bash tools/benchmarks/gpu_cost.sh OUT_DIR [DATA_DIR]
#   OUT_DIR   one JSON and one log per figure, and summary.txt
#   DATA_DIR  JPEGs for the data and loader runs (default: 1536 ImageNet-sized
#             JPEGs cut from the scikit-image photos, written to
#             OUT_DIR/jpegs: benchmarks.demo_data.make_jpeg_folder)
# Environment: PYTHON (python), DEVICE (cuda), LEVELS (4), BATCH (128, a
#   multiple of 64 at S=4), RESOLUTION (224), ITERS (20), WARMUP (5), LIMIT (seconds
#   per run, 150), WORKERS ("8 4"), LOADER_ITERS (40), PRECISION (amp;
#   fp32 where the device has no mixed precision worth timing), FIGURES
#   (all: "augment model data loader", or a subset).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:?usage: gpu_cost.sh OUT_DIR [DATA_DIR]}
DATA=${2:-}
PYTHON=${PYTHON:-python}
DEVICE=${DEVICE:-cuda}
LEVELS=${LEVELS:-4}
BATCH=${BATCH:-128}
RESOLUTION=${RESOLUTION:-224}
ITERS=${ITERS:-20}
WARMUP=${WARMUP:-5}
LIMIT=${LIMIT:-150}
WORKERS=${WORKERS-8 4}
LOADER_ITERS=${LOADER_ITERS:-40}
PRECISION=${PRECISION:-amp}
FIGURES=${FIGURES:-augment model data loader}
mkdir -p "$OUT"
PER_OP=model.data_preprocessor.fuse_augments=False
CPU_PATH=model.data_preprocessor.augment_on_device=False
CPU_CROP=model.data_preprocessor.crop_on_device=False
FP16=optim_wrapper.dtype=float16
# the lines of benchmark.py's output that go to summary.txt
SUMMARY='^(device|target (aten|elementwise)|MCL|BYOL|model  |a step|training'
SUMMARY+=' runs|one data worker|worker stages|  [a-z][a-z ]+  [0-9]|[a-z_]+: [0-9.]+$)'

# one figure: NAME then benchmark.py's arguments
figure() {
    local name=$1
    shift
    echo "== $name: benchmark.py $*" | tee -a "$OUT/summary.txt"
    timeout "$LIMIT" "$PYTHON" tools/analysis_tools/benchmark.py \
        --device "$DEVICE" --levels "$LEVELS" --batch-size "$BATCH" \
        --resolution "$RESOLUTION" \
        --json "$OUT/$name.json" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    grep -E "$SUMMARY" "$OUT/$name.log" | grep -v '^MCL: one\|^BYOL: one' |
        tail -n 24 >> "$OUT/summary.txt"
    [ "$rc" -eq 0 ] || echo "   $name failed (exit $rc), see $name.log" |
        tee -a "$OUT/summary.txt"
}

"$PYTHON" -c 'import torch; print("torch", torch.__version__, "device",
torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu")' |
    tee "$OUT/summary.txt"
wants() { [[ " $FIGURES " == *" $1 "* ]]; }
MODEL=(--iters "$ITERS" --warmup "$WARMUP" --precision "$PRECISION")
if wants augment; then
    figure augment_fused --mode augment --iters "$ITERS"
    figure augment_per_op --mode augment --iters 3 --mcl-options "$PER_OP"
fi
if wants model; then
    figure model_shipped "${MODEL[@]}"
    figure model_channels_last_both "${MODEL[@]}" --channels-last both
    figure model_channels_last_none "${MODEL[@]}" --channels-last none
    figure model_compiled "${MODEL[@]}" --compile mcl
    figure model_mcl_fp16 "${MODEL[@]}" --mcl-options "$FP16"
    figure model_per_op "${MODEL[@]}" --mcl-options "$PER_OP"
    figure model_profiled --iters 3 --warmup 2 --precision "$PRECISION" \
        --profile
fi
if wants data || wants loader; then
    if [ -z "$DATA" ]; then
        DATA=$OUT/jpegs
        # python -c imports from the working directory, the repository root
        "$PYTHON" -c "import sys; from benchmarks.demo_data import \
make_jpeg_folder; make_jpeg_folder(sys.argv[1], 1536)" "$DATA"
    fi
fi
if wants data; then
    figure data_worker --mode data --data-dir "$DATA" --rounds 2 --profile
fi
if wants loader; then
    LOADER=(--mode loader --data-dir "$DATA" --iters "$LOADER_ITERS"
        --warmup "$WARMUP" --precision "$PRECISION")
    for w in $WORKERS; do
        figure "loader_device_crop_w$w" "${LOADER[@]}" --workers "$w"
        figure "loader_cpu_crop_w$w" "${LOADER[@]}" --workers "$w" \
            --mcl-options "$CPU_CROP"
    done
    figure loader_cpu_w8 "${LOADER[@]}" --workers 8 --mcl-options "$CPU_PATH"
    figure loader_mcl_fp16_w8 "${LOADER[@]}" --workers 8 \
        --mcl-options "$FP16"
fi
echo "figures in $OUT (summary.txt)"
