#!/usr/bin/env bash
# GPU benchmark, prepared for a lent GPU machine: under 8 minutes on one H100/H200.
#
# Measures on VGG16 (random weights: no download) at 128x128, in frames/s: frame and
# recurrent train steps with and without mixed precision and XLA, the input pipeline
# alone vs input + train step, MirroredStrategy over 2 logical GPUs carved from the
# one physical GPU, and the augmentation run on the device (benchmarks/bench_gpu.py).
# Prints the card (nvidia-smi), writes benchmarks/RESULTS_gpu.md and the GPU table of
# docs/benchmarks.md (after every measurement, so a run cut short keeps what it measured).
#
# --determinism instead trains every model kind a few steps twice under op determinism,
# with and without XLA, and lists which raise or differ (benchmarks/bench_gpu_determinism.py,
# RESULTS_gpu_determinism.md; about 3 minutes).
#
# --spatial instead times a training step of the recurrent model (rgb, diff and 6-channel
# input where the encoder takes it), convlstm, conv2plus1d and pooled on VGG16 at 128x128,
# chunks of 8, batch 4, and the feature cache per video of maps vs vectors
# (benchmarks/bench_spatial.py, RESULTS_spatial_gpu.md; an estimated 2 minutes).
#
# Usage: bash benchmarks/gpu.sh [--dry-run] [--determinism] [--spatial] [--help] [extra flags]
#   PYTHON=...   the interpreter (default: .venv/bin/python, else python3)
#   GPU_BENCH_TIMEOUT=470   hard limit in seconds for the whole benchmark
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
LIMIT="${GPU_BENCH_TIMEOUT:-470}"
# Measurements stop starting after --budget seconds; TensorFlow start-up and the data
# (about 40 s) come on top, and the hard timeout stays under 8 minutes.
CMD=("$PYTHON" benchmarks/bench_gpu.py --augment-on-device --seconds 12 --budget 380)

case "${1:-}" in
  -h|--help)
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
    exit 0 ;;
  --determinism)
    shift
    nvidia-smi || echo "gpu.sh: nvidia-smi failed: no GPU?" >&2
    exec timeout "$LIMIT" "$PYTHON" benchmarks/bench_gpu_determinism.py "$@" ;;
  --spatial)
    shift
    nvidia-smi || echo "gpu.sh: nvidia-smi failed: no GPU?" >&2
    exec timeout "$LIMIT" "$PYTHON" benchmarks/bench_spatial.py --encoder vgg16 --size 128 \
      --rounds 5 --steps 20 --out-md benchmarks/RESULTS_spatial_gpu.md "$@" ;;
  --dry-run)
    shift
    echo "card: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || echo 'no GPU (nvidia-smi unavailable)')"
    echo "would run: timeout $LIMIT ${CMD[*]} $*"
    exec "$PYTHON" benchmarks/bench_gpu.py --help ;;
esac

nvidia-smi || echo "gpu.sh: nvidia-smi failed: no GPU?" >&2
start=$(date +%s)
timeout "$LIMIT" "${CMD[@]}" "$@"
echo "gpu.sh: done in $(( $(date +%s) - start )) s"
