"""The main job end to end, as a user runs it: `onegrid run` on an empty landing root
generates the tiny city, ingests, builds, checks and publishes. Then: nothing it produced
exposes anyone, and a run killed (SIGKILL) during the dbt
build leaves the published snapshot readable and unchanged, and the rerun converges to the
same content while the landing root stays byte-identical."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.quality.scan import scan_data_dir

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ["dim_grid", "xref_source_record", "dim_household", "dim_house", "fct_incident",
            "mart_grid_profile", "mart_city_summary", "quality_issues"]


def _env(base: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "ONEGRID_DATA_DIR": str(base / "data"),
        "ONEGRID_LANDING_DIR": str(base / "landing"),
        "ONEGRID_KEY_SECRET": "main-job-test-secret",
        "DAGSTER_HOME": str(base / "data" / "dagster_home"),
    })
    return env


def _onegrid(args: list[str], env: dict, log: Path) -> subprocess.CompletedProcess:
    with open(log, "w") as fh:
        return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=ROOT, env=env,
                              stdout=fh, stderr=subprocess.STDOUT, timeout=900)


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _snapshot(data: Path) -> Path:
    return data / "marts" / (data / "marts" / "CURRENT").read_text().strip()


def _dbt_parse_lines(data: Path) -> list[str]:
    """What each dbt command on the data dir logged about (partial) parsing, in order."""
    target = data / "warehouse" / "dbt_target"
    dbt_log = "".join((target / name).read_text(errors="replace")
                      for name in ("dbt.log.1", "dbt.log") if (target / name).exists())
    return [line for line in dbt_log.splitlines()
            if "partial parsing" in line.lower() and "with arguments" not in line]


def _contents(snapshot: Path) -> dict[str, list]:
    """Every table's rows, order-independent."""
    out = {}
    for path in sorted(snapshot.rglob("*.parquet")):
        table = pq.read_table(path)
        rows = [json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist()]
        out[str(path.relative_to(snapshot))] = sorted(rows)
    return out


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("mainjob")
    (base / "landing").mkdir()
    env = _env(base)
    started = time.perf_counter()
    proc = _onegrid(["run"], env, base / "data.run.log")
    seconds = time.perf_counter() - started
    log = (base / "data.run.log").read_text(errors="replace")
    return {"base": base, "env": env, "proc": proc, "log": log, "seconds": seconds}


def test_main_job_generates_builds_and_publishes(first_run):
    proc, log, base = first_run["proc"], first_run["log"], first_run["base"]
    print(f"onegrid run on an empty landing root: {first_run['seconds']:.1f} s")
    assert proc.returncode == 0, log[-3000:]
    assert "generating the 'tiny' sample city" in log
    assert "published snapshot:" in log and "quality reports:" in log
    data = base / "data"
    snap = _snapshot(data)
    manifest = json.loads((snap / "_manifest.json").read_text())
    listed = json.dumps(manifest)
    for table in REQUIRED:
        assert (snap / f"{table}.parquet").exists(), table
        assert table in listed
    assert (snap / "restricted" / "dim_person.parquet").exists()
    assert (data / "reports" / "index.html").exists()
    docs = (data / "docs" / "index.html").read_text()
    assert "mart_city_summary" in docs and "<script src=\"http" not in docs
    # `onegrid run` (in-process executor) generates the page while the quality checks run
    assert "generated beside the quality checks" in log
    # The project was parsed into the new data dir while the sources were ingested; every dbt
    # command after that parse (the build, the docs) started from it.
    parse_lines = _dbt_parse_lines(data)
    full = [i for i, line in enumerate(parse_lines) if "Unable to do partial parsing" in line]
    assert len(full) == 1 and full[0] == 0, parse_lines
    assert len(parse_lines) >= 3, parse_lines
    summary = pq.read_table(snap / "mart_city_summary.parquet").to_pylist()
    city = [r for r in summary if r["level"] == "city"]
    assert len(city) == 1 and city[0]["residents"] > 0 and city[0]["grids"] > 0


def test_docs_are_regenerated_only_when_what_they_show_changes(first_run, tmp_path, monkeypatch):
    """The docs page is written with a fingerprint of what it shows; the next run skips the
    dbt docs call while the fingerprint holds and regenerates when the marts' columns change."""
    import shutil

    import duckdb

    from pipelines.defs.warehouse import _docs_fingerprint

    data = first_run["base"] / "data"
    stamp = (data / "docs" / "index.fingerprint").read_text()
    monkeypatch.setenv("ONEGRID_DATA_DIR", str(data))
    assert _docs_fingerprint() == stamp
    copy = tmp_path / "data"
    (copy / "warehouse").mkdir(parents=True)
    shutil.copyfile(data / "warehouse" / "onegrid.duckdb", copy / "warehouse" / "onegrid.duckdb")
    con = duckdb.connect(str(copy / "warehouse" / "onegrid.duckdb"))
    con.execute("alter table marts.dim_grid add column extra integer")
    con.close()
    monkeypatch.setenv("ONEGRID_DATA_DIR", str(copy))
    assert _docs_fingerprint() != stamp


def test_full_run_exposes_no_one(first_run):
    """No identity number or mobile number in open tables, reports, logs, the Dagster event
    log or the run's console output."""
    data = first_run["base"] / "data"
    log = first_run["base"] / "data.run.log"
    assert list((data / "dagster_home").rglob("*.db")), "Dagster keeps its event log in sqlite"
    findings = scan_data_dir(data, extra=[log, data / "docs" / "index.html"])
    assert findings == [], "\n".join(str(f) for f in findings[:20])


def test_sigkill_during_dbt_build_then_rerun_converges(first_run):
    base, env = first_run["base"], first_run["env"]
    data = base / "data"
    landing = base / "landing"
    landing_before = _tree_digest(landing)
    published = _snapshot(data)
    digest = _tree_digest(published)
    expected = _contents(published)

    log_path = base / "killed.log"
    with open(log_path, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--no-generate"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        killed = False
        deadline = time.time() + 600
        assert proc.stdout is not None
        for raw in proc.stdout:
            fh.write(raw.decode(errors="replace"))
            # dbt's own progress lines: a model is being built into the warehouse
            if b"START sql table model" in raw or b"START sql incremental model" in raw:
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
            if time.time() > deadline:
                break
        proc.wait(timeout=60)
    assert killed, "the run never reached the dbt build"

    # The published snapshot is still current, unchanged and readable.
    assert _snapshot(data) == published
    assert _tree_digest(published) == digest
    for path in published.rglob("*.parquet"):
        pq.read_table(path)

    proc = _onegrid(["run", "--no-generate"], env, base / "after-kill.log")
    after = (base / "after-kill.log").read_text(errors="replace")
    assert proc.returncode == 0, after[-3000:]
    # the killed run held the warehouse's concurrency slot; the rerun frees it
    assert "was interrupted earlier" in after
    # same project, same mart columns: the docs page stands, dbt docs is not run again
    assert "dbt docs unchanged" in after
    # dbt kept its partial-parsing state in the data dir's target folder: no full re-parse
    parse_lines = _dbt_parse_lines(data)
    assert parse_lines and "Unable to do partial parsing" not in parse_lines[-1], parse_lines[-3:]
    assert _contents(_snapshot(data)) == expected
    # Nothing a user delivered is modified, and nothing is written into the landing root.
    assert _tree_digest(landing) == landing_before
    assert not any(p.name.startswith(".") for p in landing.rglob("*"))
