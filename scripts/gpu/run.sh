#!/usr/bin/env bash
# Train (and bench) the shipped model on a borrowed GPU machine: `device run`, carrying `.gpu`
# (built here by scripts/gpu/pack.sh: the MiniLM files in fp16, the data xz-compressed, the few
# wheels the machine lacks). Training runs in its own process session so it outlives one call;
# each call waits up to WAIT_S for it, then copies what is there to $OUT.
#   first call:  bash scripts/gpu/run.sh start     later calls: bash scripts/gpu/run.sh wait
set -uo pipefail
WORK=/tmp/gpu-train
WAIT_S=${WAIT_S:-520}
OUT=${OUT:-/tmp/gpu-out}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MINILM_DIR=$WORK/minilm
export PYTHONPATH=$PWD:$WORK/site:$PWD/.gpu/site
PY=${PY:-python3}

if [ "${1:-start}" = start ]; then
  rm -rf "$WORK"; mkdir -p "$WORK"/{minilm,data,out,cache,site}
  [ -n "${SKIP_WHEELS:-}" ] || $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$WORK/site" .gpu/whl/*.whl || exit 1
  cp .gpu/minilm/*.json .gpu/minilm/vocab.txt "$WORK/minilm/"
  $PY - <<PYEOF || exit 1
from safetensors.torch import load_file, save_file
t = load_file(".gpu/minilm/model16.safetensors")
save_file({k: (v.float() if v.is_floating_point() else v) for k, v in t.items()},
          "$WORK/minilm/model.safetensors")
PYEOF
  for f in .gpu/data/*.xz; do xz -dc "$f" > "$WORK/data/$(basename "$f" .xz)"; done
  nvidia-smi -L || true
  mkdir -p "$WORK/repo"  # the code as sent: later calls re-copy the tree under the run
  tar --exclude=./.venv --exclude=./.git --exclude=./.gpu/data --exclude=./.gpu/minilm -cf - . \
    | tar -xf - -C "$WORK/repo"
  (cd "$WORK/repo" && PYTHONPATH=$WORK/repo:$WORK/site:$WORK/repo/.gpu/site setsid nohup \
     bash -c "$PY scripts/gpu/train.py --data-dir $WORK/data --output $WORK/out/lstm-tfns.pt \
       --cache $WORK/cache ${TRAIN_ARGS:-} > $WORK/train.log 2>&1; echo \$? > $WORK/train.rc; \
       [ -n \"${SKIP_BENCH:-}\" ] || $PY bench/bench_model.py --checkpoint $WORK/out/lstm-tfns.pt --data-dir $WORK/data \
       --threads 16 --reps 3 > $WORK/bench.log 2>&1; echo \$? > $WORK/bench.rc" \
     > /dev/null 2>&1 &)
fi

for _ in $(seq "$WAIT_S"); do [ -f "$WORK/bench.rc" ] && break; sleep 1; done
mkdir -p "$OUT"
if [ -f "$WORK/out/lstm-tfns.pt" ]; then  # at most 16 MiB a file comes back
  split -b 15M "$WORK/out/lstm-tfns.pt" "$OUT/lstm-tfns.pt.part-"
  sha256sum "$WORK/out/lstm-tfns.pt" > "$WORK/out/lstm-tfns.pt.sha256"
fi
(cd "$WORK" && tar -cf "$OUT/results.tar" ./*.log ./*.rc $(cd "$WORK" && ls out/* 2>/dev/null | grep -v '\.pt$') 2>/dev/null)
tail -c 6000 "$WORK/train.log" | tr '\r' '\n' | grep -v '^\s*$' | tail -60
cat "$WORK/bench.log" 2>/dev/null
ls -la "$WORK/out" "$OUT"
