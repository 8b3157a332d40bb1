#!/usr/bin/env bash
# Set-up shared by scripts/run.sh and scripts/test.sh: everything a fresh machine needs,
# from the project's own files. Safe to run again (it only installs what is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet "uv==0.13.8"
fi
uv sync --frozen --quiet
# The dbt manifest the Dagster definitions load (prepared here, never on definition load).
ONEGRID_DATA_DIR="${ONEGRID_DATA_DIR:-$PWD/data}" DBT_SEND_ANONYMOUS_USAGE_STATS=false \
  uv run --frozen dagster-dbt project prepare-and-package \
  --file pipelines/defs/warehouse/__init__.py >/dev/null

export DBT_SEND_ANONYMOUS_USAGE_STATS=false
export DAGSTER_DISABLE_TELEMETRY=1
