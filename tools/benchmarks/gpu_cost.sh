#!/usr/bin/env bash
# Every figure of MCL's GPU cost in one call (docs/en/performance.md):
#   1. the device augments alone, fused (default) and per op: aten ops,
#      ms per call and elementwise passes (--mode augment);
#   2. the model step, MCL against BYOL, AMP, with the share of the device
#      augments in the MCL step (--mode model), fused and per op;
#   3. the data wait of real training runs (--mode loader) with 8 and with
#      4 loader workers, device path against CPU path.
# R50-FPN, S=4, 224 px, batch 128 unless set; each run has its own time
# limit, so one that fails or hangs costs its limit and the others go on.
# Usage: bash tools/benchmarks/gpu_cost.sh OUT_DIR [DATA_DIR]
#   OUT_DIR   one JSON and one log per figure, and summary.txt
#   DATA_DIR  JPEGs for the loader runs (default: 1536 ImageNet-sized
#             JPEGs cut from the scikit-image photos, written to
#             OUT_DIR/jpegs: mcl_mm.utils.demo_data.make_jpeg_folder)
# Environment: PYTHON (python), DEVICE (cuda), BATCH (128, a multiple of
#   64 at S=4), RESOLUTION (224), ITERS (20),
#   WARMUP (5), LIMIT (seconds per run, 150), WORKERS ("8 4"), AMP
#   ("--amp"; mmengine's AMP optimiser wrapper, and so the configs' own
#   optimiser in the loader runs, needs a GPU).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:?usage: gpu_cost.sh OUT_DIR [DATA_DIR]}
DATA=${2:-}
PYTHON=${PYTHON:-python}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-128}
RESOLUTION=${RESOLUTION:-224}
ITERS=${ITERS:-20}
WARMUP=${WARMUP:-5}
LIMIT=${LIMIT:-150}
WORKERS=${WORKERS-8 4}
AMP=${AMP---amp}
mkdir -p "$OUT"
PER_OP=model.data_preprocessor.fuse_augments=False
CPU_PATH=model.data_preprocessor.augment_on_device=False

# one figure: NAME then benchmark.py's arguments
figure() {
    local name=$1
    shift
    echo "== $name: benchmark.py $*" | tee -a "$OUT/summary.txt"
    timeout "$LIMIT" "$PYTHON" tools/analysis_tools/benchmark.py \
        --device "$DEVICE" --levels 4 --batch-size "$BATCH" \
        --resolution "$RESOLUTION" \
        --json "$OUT/$name.json" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    grep -E '^(device|target (aten|elementwise)|MCL|BYOL|ratio|step|\|)' \
        "$OUT/$name.log" | tail -n 12 >> "$OUT/summary.txt"
    [ "$rc" -eq 0 ] || echo "   $name failed (exit $rc), see $name.log" |
        tee -a "$OUT/summary.txt"
}

"$PYTHON" -c 'import torch; print("torch", torch.__version__, "device",
torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu")' |
    tee "$OUT/summary.txt"
figure augment_fused --mode augment --iters "$ITERS"
figure augment_per_op --mode augment --iters 3 --mcl-options "$PER_OP"
figure model_fused --iters "$ITERS" --warmup "$WARMUP" $AMP
figure model_per_op --iters "$ITERS" --warmup "$WARMUP" $AMP \
    --mcl-options "$PER_OP"
if [ -z "$DATA" ]; then
    DATA=$OUT/jpegs
    "$PYTHON" -c "import sys; from mcl_mm.utils.demo_data import \
make_jpeg_folder; make_jpeg_folder(sys.argv[1], 1536)" "$DATA"
fi
for w in $WORKERS; do
    figure "loader_device_w$w" --mode loader --data-dir "$DATA" \
        --workers "$w" --iters "$ITERS" --warmup "$WARMUP"
    figure "loader_cpu_w$w" --mode loader --data-dir "$DATA" \
        --workers "$w" --iters "$ITERS" --warmup "$WARMUP" \
        --mcl-options "$CPU_PATH"
done
echo "figures in $OUT (summary.txt)"
