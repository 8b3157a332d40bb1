"""Identity scanner: ``scan_paths`` finds identity numbers (GB 11643 18-character with a valid
check character, legacy 15-digit) and 11-digit mobile numbers in Parquet, HTML/JSON reports,
logs and the Dagster event log (SQLite), reporting locations only.

Planted values are synthetic and never printed. With ``ONEGRID_SCAN_DATA_DIR`` set (the lead's
CI after a full ``onegrid run``), the open parts of that data dir are scanned as well.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from pipelines import config
from pipelines.quality.scan import classify, scan_data_dir, scan_paths
from pipelines.quality.testing import build_sample_warehouse, synthetic_id

ID18 = synthetic_id(7)
MOBILE = "139" + "12345678"
LEGACY15 = "522301" + "650412" + "123"  # born 1965-04-12


def test_classify_counts_only_real_shapes():
    bad_check = ID18[:17] + ("0" if ID18[17] != "0" else "1")
    cases = [  # (label, text, expected) - labels only appear in assertion output
        ("id18 in Chinese text", f"身份证{ID18}号", {"id18": 1}),
        ("mobile after colon", f"电话:{MOBILE}", {"mobile": 1}),
        ("legacy 15-digit", f"旧号 {LEGACY15} ", {"id15": 1}),
        ("wrong check character", bad_check, {}),
        ("inside a hex hash", "a" + ID18 + "f", {}),
        ("inside a longer digit run", "9" + MOBILE, {}),
        ("letter-prefixed record id", "E" + MOBILE, {}),
        ("15-digit unified grid code", "522301001001001", {}),
        ("epoch timestamp", "1763720000.123456", {}),
        ("fractional digits of a float", '"duration_ms": 5266.19213545621}', {}),
        ("mobile at the end of a sentence", f"联系{MOBILE}.", {"mobile": 1}),
    ]
    got = {label: classify(text) for label, text, _ in cases}
    assert got == {label: want for label, _, want in cases}


def _plant(tmp: Path) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = {}
    t = pa.table({"person_key": ["ab" * 16, "cd" * 16], "note": ["ok", f"x {ID18} y"],
                  "phone_int": pa.array([int(MOBILE), 5], pa.int64())})
    files["parquet"] = tmp / "open" / "t.parquet"
    files["parquet"].parent.mkdir(parents=True)
    pq.write_table(t, files["parquet"])
    files["html"] = tmp / "reports" / "index.html"
    files["html"].parent.mkdir()
    files["html"].write_text(f"<td>{MOBILE}</td>", encoding="utf-8")
    files["json"] = tmp / "reports" / "r.json"
    files["json"].write_text(json.dumps({"v": LEGACY15}))
    files["log"] = tmp / "logs" / "run.log"
    files["log"].parent.mkdir()
    files["log"].write_text("line one\nvalue " + ID18 + "\n")
    files["sqlite"] = tmp / "dagster_home" / "history" / "runs" / "abc.db"
    files["sqlite"].parent.mkdir(parents=True)
    con = sqlite3.connect(files["sqlite"])
    con.execute("CREATE TABLE event_logs (id INTEGER, event TEXT)")
    con.execute("INSERT INTO event_logs VALUES (1, ?)", (json.dumps({"msg": "p " + MOBILE}),))
    con.commit()
    con.close()
    return files


def test_scan_paths_finds_planted_numbers_and_reports_locations_only(tmp_path):
    files = _plant(tmp_path)
    findings = scan_paths([tmp_path])
    got = {(Path(f.path).name, f.location, f.kind) for f in findings}
    assert got == {
        ("t.parquet", "column note", "id18"),
        ("t.parquet", "column phone_int", "mobile"),
        ("index.html", "line 1", "mobile"),
        ("r.json", "line 1", "id15"),
        ("run.log", "line 2", "id18"),
        ("abc.db", "table event_logs.event", "mobile"),
    }
    text = "\n".join(str(f) for f in findings)
    assert ID18 not in text and MOBILE not in text and LEGACY15 not in text
    assert files


def test_scan_cli_exit_codes_and_output(tmp_path):
    data = tmp_path / "data"
    _plant(data)
    (data / "marts").mkdir()
    r = subprocess.run([sys.executable, "-m", "pipelines.quality.scan", str(data)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 1
    assert "FOUND" in r.stdout and ID18 not in r.stdout and MOBILE not in r.stdout
    clean = tmp_path / "clean"
    (clean / "reports").mkdir(parents=True)
    (clean / "reports" / "index.html").write_text("<p>nothing here 522301001001001</p>")
    r = subprocess.run([sys.executable, "-m", "pipelines.quality.scan", str(clean)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout


def test_published_sample_open_tier_and_reports_are_clean(onegrid_env):
    from pipelines.publish import publish_snapshot
    from pipelines.quality.engine import run_checks

    build_sample_warehouse(config.warehouse_path(), broken=True)
    run_checks(run_id="scan")
    folder = publish_snapshot(quality={"run_id": "scan", "checks": []})
    assert scan_data_dir(config.data_dir()) == []
    # the restricted tier does hold identity numbers: the scanner sees them when asked
    restricted = scan_paths([folder / "restricted"], exclude=())
    assert {f.kind for f in restricted} == {"id18"}


def test_dagster_run_event_log_and_reports_are_clean(onegrid_env, monkeypatch):
    """A persistent Dagster instance (sqlite event log in DAGSTER_HOME) after a run whose
    blocking identity check failed: no identity number or phone anywhere in the open parts."""
    import dagster as dg

    from pipelines.quality.testing import build_sample_bronze, sample_dagster_defs

    build_sample_bronze()
    instance = dg.DagsterInstance.get()
    job = sample_dagster_defs().resolve_job_def("build_and_publish_test")
    assert job.execute_in_process(instance=instance, raise_on_error=False).success
    monkeypatch.setenv("STUB_BROKEN", "1")
    assert not job.execute_in_process(instance=instance, raise_on_error=False).success
    dbs = list((config.data_dir() / "dagster_home").rglob("*.db"))
    assert dbs, "the instance should keep its event log in sqlite under DAGSTER_HOME"
    findings = scan_data_dir(config.data_dir())
    assert findings == [], "\n".join(str(f) for f in findings[:50])
