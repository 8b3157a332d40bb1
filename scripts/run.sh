#!/usr/bin/env bash
# The main job on the embedded default: generates the `tiny` sample city when the landing
# root is empty, ingests every delivery, builds the warehouse, runs the quality checks and
# publishes a snapshot. Extra arguments go to `onegrid run`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
exec uv run onegrid run "$@"
