"""Shared test setup: every test runs against its own data dir, landing root and secret."""

from __future__ import annotations

import os

import pytest

# Never send telemetry from tests, whatever the caller's environment says.
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def pytest_sessionstart(session):
    """Parse the dbt project again when a model changed since its manifest was prepared, as
    `onegrid run` does: the Dagster definitions are built from that manifest, and a stale one
    fails every dbt test with a KeyError on the new model."""
    import tempfile

    from pipelines.orchestrate import ensure_dbt_manifest

    saved = os.environ.get("ONEGRID_DATA_DIR")
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["ONEGRID_DATA_DIR"] = saved or scratch  # the profile needs one to parse
        try:
            ensure_dbt_manifest()
        finally:
            if saved is None:
                del os.environ["ONEGRID_DATA_DIR"]


@pytest.fixture
def onegrid_env(tmp_path, monkeypatch):
    """Point onegrid at a fresh data dir and landing root under tmp_path."""
    data = tmp_path / "data"
    landing = tmp_path / "landing"
    data.mkdir()
    landing.mkdir()
    monkeypatch.setenv("ONEGRID_DATA_DIR", str(data))
    monkeypatch.setenv("ONEGRID_LANDING_DIR", str(landing))
    monkeypatch.setenv("ONEGRID_KEY_SECRET", "test-secret-not-for-production")
    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster_home"))
    (data / "dagster_home").mkdir()
    from pipelines.orchestrate import DAGSTER_YAML

    (data / "dagster_home" / "dagster.yaml").write_text(DAGSTER_YAML)
    return {"data": data, "landing": landing}
