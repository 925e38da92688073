# The `monitor` image: one image, every process (consume, schedule, dashboard, migrate, produce)
# picked by the command. CPU torch keeps it ~1 GB; GPU hosts should build on a CUDA base.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1

WORKDIR /app

# Heaviest layer first, so code changes don't re-download torch.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies from pyproject.toml alone: cached until they change. The runtime needs no MiniLM
# package: the tokenizer ships inside the checkpoint.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# A plain (non-editable) install: the checkpoint, dashboard, migrations and demo feed are package
# data, found next to the installed code.
COPY monitor/ monitor/
RUN pip install --no-deps . \
    && rm -rf monitor \
    && useradd --create-home --uid 10001 --user-group monitor \
    && mkdir -p /app/var \
    && chown monitor:monitor /app/var

USER monitor
ENTRYPOINT ["monitor"]
CMD ["--help"]
