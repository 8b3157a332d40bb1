"""Benchmark: `dbt build` of the whole project as one process, wall time and peak RSS.

Generates the city once (synth → ingestion, cached under --cache) unless --data-dir points at an
ONEGRID_DATA_DIR whose bronze already exists. Then runs `dbt build` (full refresh) and, when
asked, a second, incremental `dbt build` on the same data (nothing new: the no-op delta cost).
Goal (issue 4): qianxinan ≤ 60 s on this machine.

Usage:
  uv run python bench/bench_dbt.py [--profile qianxinan] [--cache /tmp/onegrid-bench]
                                   [--data-dir DIR] [--threads 2] [--incremental]
Writes bench/results/dbt.json and bench/results/dbt.md (one entry per profile, merged).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = ROOT / "dbt_project"
RESULTS = ROOT / "bench" / "results"
DBT = str(Path(sys.executable).parent / "dbt")
GOAL_S = {"qianxinan": 60}


def timed(cmd: list[str], env: dict, cwd: Path) -> dict:
    """Run one process; wall seconds and its peak RSS (MB) from wait4's rusage."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(ru.ru_maxrss / 1024, 1),
            "exit_code": code, "tail": out.splitlines()[-6:]}


def ensure_city(profile: str, cache: Path, data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    base = cache / profile
    data, landing = base / "data", base / "landing"
    if (data / "bronze" / "household").exists():
        return data
    env = {**os.environ, "ONEGRID_DATA_DIR": str(data), "ONEGRID_LANDING_DIR": str(landing)}
    if not landing.exists():
        subprocess.run([sys.executable, "-c",
                        "import sys; from pathlib import Path; from pipelines.synth.core import generate;"
                        f"generate('{profile}', Path(sys.argv[1]), seed=0, progress=False)",
                        str(landing)], env=env, cwd=ROOT, check=True)
    subprocess.run([sys.executable, "-c",
                    "from pipelines.ingestion import ingest_pending; ingest_pending()"],
                   env=env, cwd=ROOT, check=True)
    return data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="qianxinan")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/onegrid-bench"))
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--incremental", action="store_true",
                    help="also time a second build that finds no new deliveries")
    ap.add_argument("--vars", default=None, help="dbt --vars (YAML/JSON)")
    a = ap.parse_args()

    data = ensure_city(a.profile, a.cache, a.data_dir)
    wh = data / "warehouse" / "onegrid.duckdb"
    for p in (wh, wh.with_suffix(".duckdb.wal")):
        if p.exists():
            p.unlink()
    target = data / "bench_dbt_target"
    shutil.rmtree(target, ignore_errors=True)
    env = {**os.environ, "ONEGRID_DATA_DIR": str(data), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "ONEGRID_DBT_PROJECT_DIR": str(DBT_DIR), "ONEGRID_DBT_THREADS": a.threads}
    cmd = [DBT, "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
           "--target-path", str(target), "--log-path", str(data / "bench_dbt_logs")]
    if a.vars:
        cmd += ["--vars", a.vars]
    # parse once first so the timed build measures the build (a deployment ships the manifest)
    subprocess.run([DBT, "parse", *cmd[2:]], env=env, cwd=DBT_DIR, check=True,
                   stdout=subprocess.DEVNULL)
    full = timed(cmd + ["--full-refresh"], env, DBT_DIR)
    entry = {"profile": a.profile, "when": dt.datetime.now().isoformat(timespec="seconds"),
             "threads": a.threads, "cpus": os.cpu_count(), "full_build": full,
             "goal_s": GOAL_S.get(a.profile)}
    if a.incremental:
        entry["incremental_noop_build"] = timed(cmd, env, DBT_DIR)
    try:
        import duckdb

        con = duckdb.connect(str(wh), read_only=True,
                             config={"extension_directory": str(data / "duckdb_extensions"),
                                     "autoinstall_known_extensions": False})
        entry["rows"] = {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
                         for s, t in con.execute(
                             "select table_schema, table_name from information_schema.tables "
                             "where table_schema in ('marts', 'marts_restricted') "
                             "and table_type = 'BASE TABLE' order by 1, 2").fetchall()}
        con.close()
    except Exception as exc:  # noqa: BLE001 — the timing stands without row counts
        entry["rows_error"] = type(exc).__name__

    RESULTS.mkdir(parents=True, exist_ok=True)
    jpath = RESULTS / "dbt.json"
    allres = json.loads(jpath.read_text()) if jpath.exists() else {}
    allres[a.profile] = entry
    jpath.write_text(json.dumps(allres, ensure_ascii=False, indent=2) + "\n")
    lines = ["# dbt build benchmark", "",
             "Whole `dbt build --full-refresh` (models, seeds, tests) as one process; peak RSS of "
             "that process. Run by `bench/bench_dbt.py`.", "",
             "| profile | when | threads | wall s | peak RSS MB | goal s | no-op incremental s | exit |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for prof, e in allres.items():
        inc = e.get("incremental_noop_build", {}).get("wall_s", "")
        lines.append(f"| {prof} | {e['when']} | {e['threads']} | {e['full_build']['wall_s']} | "
                     f"{e['full_build']['peak_rss_mb']} | {e.get('goal_s') or ''} | {inc} | "
                     f"{e['full_build']['exit_code']} |")
    (RESULTS / "dbt.md").write_text("\n".join(lines) + "\n")
    print(json.dumps({k: v for k, v in entry.items() if k != "rows"}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
