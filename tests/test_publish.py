"""Publisher: snapshot layout, manifest, tiers, immutability, idempotence, failed checks and a
concurrent pyarrow reader in a separate process that never sees a partial snapshot."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipelines import config
from pipelines.publish import (
    PublishError,
    current_snapshot_id,
    discard_staged,
    publish_snapshot,
    snapshot_mode_ok,
    stage_tables,
    stage_tables_niced,
    verify_snapshot,
)
from pipelines.quality.testing import build_sample_warehouse, write_ledger


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


# a run whose one failed check is a warning: published, with one added quality_issues row
WARNING_ONLY = {"run_id": "r", "checks": [{
    "check": "mart_dim_house", "source": "warehouse", "blocking": False, "passed": False,
    "severity": "warning", "expectations": [{
        "rule": "mart_dim_house.coordinates_in_city", "severity": "warning",
        "success": False, "detail": "positions inside the city: 3 of 30 rows unexpected"}]}]}


@pytest.fixture
def warehouse(onegrid_env):
    write_ledger("household", "20261101", rows=10)
    write_ledger("housing", "20261102", status="rejected", reason="sha256 mismatch")
    return build_sample_warehouse(config.warehouse_path())


def test_publish_layout_manifest_and_tiers(warehouse):
    folder = publish_snapshot()
    marts = config.marts_dir()
    assert (marts / "CURRENT").read_text().strip() == folder.name
    assert folder.name[:16].endswith("Z") and "-" in folder.name
    manifest = verify_snapshot(folder)
    tables = manifest["tables"]
    for name in ("dim_grid", "xref_source_record", "dim_household", "dim_house", "fct_incident",
                 "mart_grid_profile", "mart_city_summary", "quality_issues"):
        assert tables[name]["tier"] == "open" and tables[name]["path"] == f"{name}.parquet"
    assert tables["dim_person"]["tier"] == "restricted"
    assert tables["dim_person"]["path"] == "restricted/dim_person.parquet"
    # column schemas and descriptions from DuckDB comments (dbt persist_docs)
    assert tables["dim_grid"]["description"] == "Unified grids (统一网格)"
    cols = {c["name"]: c for c in tables["dim_grid"]["columns"]}
    assert cols["grid_code"]["type"] == "VARCHAR"
    assert "网格编码" in cols["grid_code"]["description"]
    # deliveries it was built from
    assert [d["delivery_id"] for d in manifest["deliveries"]["accepted"]] == ["20261101"]
    assert manifest["deliveries"]["rejected"][0]["reason"] == "sha256 mismatch"
    assert manifest["built_at"] and manifest["content_hash"]
    # read-only; restricted folder for the owner only
    assert snapshot_mode_ok(folder)
    rmode = stat.S_IMODE(os.stat(folder / "restricted").st_mode)
    assert rmode & 0o077 == 0
    fmode = stat.S_IMODE(os.stat(folder / "restricted" / "dim_person.parquet").st_mode)
    assert fmode == 0o400
    # no staging left behind
    assert not list(marts.glob(".staging-*"))


def test_publish_adds_failed_rules_to_quality_issues(warehouse):
    import pyarrow.parquet as pq

    quality = WARNING_ONLY
    folder = publish_snapshot(quality=quality)
    qi = pq.read_table(folder / "quality_issues.parquet").to_pylist()
    added = [r for r in qi if r["rule"] == "mart_dim_house.coordinates_in_city"]
    assert len(added) == 1 and added[0]["severity"] == "warning"
    assert added[0]["source_record_id"] is None
    assert len(qi) == 5  # 4 from dbt's quality_issues + 1 failed rule
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["quality"]["warnings"] == ["mart_dim_house"]
    assert manifest["tables"]["quality_issues"]["rows"] == 5


def test_tables_staged_ahead_publish_the_same_content(warehouse):
    """The Dagster run writes the tables while its checks run (stage_tables), then publishes
    them: the same snapshot content as writing them in the publish step, quality rows
    included; a failed blocking check removes the staged tables."""
    quality = WARNING_ONLY
    inline = publish_snapshot(quality=quality)
    staged = stage_tables()
    assert staged.folder.name.startswith(f".staging-{os.getpid()}-")
    assert (staged.folder / "restricted" / "dim_person.parquet").exists()
    assert publish_snapshot(quality=quality, staged=staged) == inline  # same content
    assert not staged.folder.exists()
    build_sample_warehouse(config.warehouse_path(), variant=1)
    staged = stage_tables_niced()  # as the Dagster run does: in a child process
    assert staged.folder.name.startswith(f".staging-{os.getpid()}-")
    ahead = publish_snapshot(quality=quality, staged=staged)
    assert ahead != inline and not staged.folder.exists()
    qi = json.loads((ahead / "_manifest.json").read_text())["tables"]["quality_issues"]
    assert qi["rows"] == 5
    forced = publish_snapshot(quality=quality, force=True)
    assert (json.loads((forced / "_manifest.json").read_text())["content_hash"]
            == json.loads((ahead / "_manifest.json").read_text())["content_hash"])

    failed = {"run_id": "f", "checks": [{"check": "mart_dim_person", "blocking": True,
                                        "passed": False, "severity": "error",
                                        "expectations": []}]}
    staged = stage_tables()
    with pytest.raises(PublishError):
        publish_snapshot(quality=failed, staged=staged)
    assert not staged.folder.exists() and current_snapshot_id() == forced.name
    staged = stage_tables()
    discard_staged(staged)
    assert not list(config.marts_dir().glob(".staging-*"))


def test_staging_of_a_live_process_is_left_alone(warehouse):
    """A publisher removes the staging folders of processes that died and those this process
    left, never one another live process is writing."""
    marts = config.marts_dir()
    marts.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folders = {
            "live": marts / f".staging-{live.pid}-aaaa",
            "dead": marts / f".staging-{done.stdout.strip()}-bbbb",
            "mine": marts / f".staging-{os.getpid()}-cccc",
            "old": marts / ".staging-20261101T000000Z-12345678",
        }
        for f in folders.values():
            f.mkdir()
            (f / "dim_grid.parquet").write_bytes(b"partial")
        publish_snapshot()
        assert {k for k, f in folders.items() if f.exists()} == {"live"}
    finally:
        live.kill()
        live.wait()


def test_idempotent_and_immutable(warehouse):
    first = publish_snapshot()
    before = _digest(first)
    again = publish_snapshot()
    assert again == first  # same content: the current snapshot stands
    build_sample_warehouse(config.warehouse_path(), variant=1)
    second = publish_snapshot()
    assert second != first and current_snapshot_id() == second.name
    forced = publish_snapshot(force=True)
    assert forced != second
    m2 = json.loads((second / "_manifest.json").read_text())
    m3 = json.loads((forced / "_manifest.json").read_text())
    assert m2["content_hash"] == m3["content_hash"]
    # published snapshots are never modified
    assert _digest(first) == before
    assert snapshot_mode_ok(first) and snapshot_mode_ok(second)


def test_failed_blocking_check_leaves_previous_current(warehouse):
    first = publish_snapshot()
    build_sample_warehouse(config.warehouse_path(), variant=2)
    quality = {"run_id": "r", "checks": [{
        "check": "mart_dim_person", "blocking": True, "passed": False, "severity": "error",
        "expectations": [{"rule": "mart_dim_person.id_number_unique", "severity": "critical",
                          "success": False, "detail": "2 of 74 rows unexpected"}]}]}
    with pytest.raises(PublishError):
        publish_snapshot(quality=quality)
    assert current_snapshot_id() == first.name
    assert [p.name for p in config.marts_dir().iterdir() if p.is_dir()] == [first.name]


READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import pyarrow.parquet as pq
    marts, stop = Path(sys.argv[1]), Path(sys.argv[2])
    reads, seen, bad = 0, set(), []
    ready = stop.with_name("ready")
    while not stop.exists():
        try:
            sid = (marts / "CURRENT").read_text().strip()
        except FileNotFoundError:
            continue
        folder = marts / sid
        try:
            manifest = json.loads((folder / "_manifest.json").read_text())
            for name, entry in manifest["tables"].items():
                n = pq.read_table(folder / entry["path"]).num_rows
                if n != entry["rows"]:
                    bad.append(f"{sid}/{name}: {n} != {entry['rows']}")
        except Exception as exc:
            bad.append(f"{sid}: {type(exc).__name__}")
        reads += 1
        seen.add(sid)
        if reads == 1:
            ready.touch()
    print(json.dumps({"reads": reads, "seen": sorted(seen), "bad": bad}))
    """
)


def test_concurrent_reader_never_sees_partial_snapshot(warehouse, tmp_path, monkeypatch):
    publish_snapshot()
    # slow publishing down so the reader polls many times while tables are being written
    monkeypatch.setenv("ONEGRID_PUBLISH_SLEEP_BETWEEN_TABLES", "0.03")
    stop = tmp_path / "stop"
    script = tmp_path / "reader.py"
    script.write_text(READER)
    reader = subprocess.Popen(
        [sys.executable, str(script), str(config.marts_dir()), str(stop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.time() + 120
        while not (tmp_path / "ready").exists():  # the reader is polling before we publish
            assert reader.poll() is None and time.time() < deadline, "reader did not start"
            time.sleep(0.05)
        for variant in range(1, 7):
            build_sample_warehouse(config.warehouse_path(), variant=variant)
            publish_snapshot()
            time.sleep(0.05)
    finally:
        time.sleep(0.3)
        stop.touch()
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err[-2000:]
    result = json.loads(out)
    assert result["bad"] == []
    assert result["reads"] > 10, result
    assert len(result["seen"]) >= 2, "the reader should have observed several snapshots"
