"""Where onegrid reads and writes.

The landing root is read-only input (``ONEGRID_LANDING_DIR``, default ``data/landing``);
everything the pipeline writes lives under ``ONEGRID_DATA_DIR`` (default ``data/``).
Paths are resolved when called, never at import time, so tests and the CLI can point
a process at another city by setting the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

SOURCES = ("grid", "household", "housing", "party", "incident")


def _default_base() -> Path:
    # A source checkout (editable install): the repository's own data/ folder.
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / "data"
    return Path.cwd() / "data"


def data_dir() -> Path:
    env = os.environ.get("ONEGRID_DATA_DIR")
    return Path(env).resolve() if env else _default_base()


def landing_dir() -> Path:
    env = os.environ.get("ONEGRID_LANDING_DIR")
    return Path(env).resolve() if env else data_dir() / "landing"


# --- the layout under ONEGRID_DATA_DIR -------------------------------------------------
def bronze_dir() -> Path:
    """Verified, normalised rows: bronze/<source>/<table>/delivery_id=<id>/part-0.parquet"""
    return data_dir() / "bronze"


def quarantine_dir() -> Path:
    """Rows that could not be loaded, as delivered (restricted): quarantine/<source>/<id>/..."""
    return data_dir() / "quarantine"


def issues_dir() -> Path:
    """Row- and delivery-level findings: issues/<source>/<delivery_id>-<fingerprint>.parquet"""
    return data_dir() / "issues"


def ledger_dir() -> Path:
    """One JSON per processed delivery: ledger/<source>/<delivery_id>.json"""
    return data_dir() / "ledger"


def warehouse_path() -> Path:
    return data_dir() / "warehouse" / "onegrid.duckdb"


def dbt_target_dir() -> Path:
    """dbt's target folder for this data dir (artifacts, logs, partial-parsing state), shared
    by the build and the docs (both run in the pool ``duckdb_warehouse``, one at a time). dbt
    keeps its partial-parsing state there, and that state is only valid for the profile it was
    parsed with, whose warehouse path depends on ONEGRID_DATA_DIR: with a new folder per
    invocation (dagster-dbt's default, seeded from dbt_project/target) dbt parsed the whole
    project again before every build and every docs run whenever that seed came from another
    data dir (2.7 s each on qianxinan). On a first run `onegrid run` makes that state while
    the sources are ingested (``orchestrate.start_dbt_parse_ahead``)."""
    return data_dir() / "warehouse" / "dbt_target"


def marts_dir() -> Path:
    return data_dir() / "marts"


def reports_dir() -> Path:
    return data_dir() / "reports"


def dagster_home() -> Path:
    env = os.environ.get("DAGSTER_HOME")
    return Path(env) if env else data_dir() / "dagster_home"


def truth_dir(landing: Path | None = None) -> Path:
    """Ground truth of a synthetic city: beside the landing root, never inside it."""
    landing = landing or landing_dir()
    return landing.parent / f"{landing.name}_truth"


def duckdb_extension_dir() -> Path:
    return data_dir() / "duckdb_extensions"


def dbt_executable() -> str:
    """dbt of this environment even when its bin/ is not on PATH (e.g. `.venv/bin/python -m
    pipelines.cli run`)."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")
