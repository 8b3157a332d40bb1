"""Whole-process benchmarks of onegrid at several scales (issue 7).

For each scale the city is generated once (cached under --cache), then each phase runs as its
own process against a fresh data dir, timed with wall clock and peak resident memory (from the
kernel's rusage of that child, children included):

  floor        the raw-read floor: every extract read once and written as Parquet
  defload      importing the Dagster definitions (what the UI and every run pay)
  ingest       all deliveries → bronze
  dbt_build    `dbt build` of every model and test
  checks       the quality suites (GX) over bronze and marts
  publish      writing and switching a snapshot
  main_job     `onegrid run` end to end on a fresh data dir (Dagster, all of the above), with
               the phases inside it from its Dagster run records (bench/job_phases.py)
  delta_1pct   a delivery changing 1% of persons, then `onegrid run` again

Usage:  uv run python bench/harness.py --scales tiny,qianxinan,10m [--cache /tmp/onegrid-bench]
                                      [--phases floor,main_job,...]
Writes bench/results/pipeline.json and bench/results/pipeline.md (merged per scale).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PY = sys.executable

SCALES = {
    # name: (profile, scale)
    "tiny": ("tiny", 1.0),
    "jingdezhen": ("jingdezhen", 1.0),
    "qianxinan": ("qianxinan", 1.0),
    "10m": ("qianxinan", 8.3),
}

GOALS = {
    "qianxinan": {"main_job_s": 60, "main_job_vs_floor": 3.0, "dbt_build_s": 60,
                  "delta_vs_full": 0.15, "checks_vs_build": 0.15, "checks_in_job_vs_dbt": 0.15,
                  "checks_in_job_vs_main_job": 0.15, "defload_s": 3},
    "10m": {"main_job_s": 600, "main_job_vs_floor": 2.5, "peak_gb": 12,
            "delta_vs_full": 0.15, "checks_vs_build": 0.15, "checks_in_job_vs_dbt": 0.15,
            "checks_in_job_vs_main_job": 0.15, "defload_s": 3},
}


def timed(cmd: list[str], env: dict, label: str, cwd: Path = ROOT) -> dict:
    """Run one process; wall seconds and peak RSS (MB) of it and its children."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out_chunks = []
    assert proc.stdout is not None
    for line in proc.stdout:
        out_chunks.append(line)
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    peak_mb = rusage.ru_maxrss / 1024  # Linux: KiB
    tail = b"".join(out_chunks)[-1500:].decode(errors="replace")
    row = {"phase": label, "seconds": round(wall, 2), "peak_mb": round(peak_mb, 1),
           "exit": code, "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
    print(f"  {label:<12} {wall:8.2f} s  {peak_mb:8.0f} MB  exit {code}", flush=True)
    if code != 0:
        row["tail"] = tail
    return row


def env_for(landing: Path, data: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "ONEGRID_LANDING_DIR": str(landing),
        "ONEGRID_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "dagster_home"),
        "ONEGRID_KEY_SECRET": env.get("ONEGRID_KEY_SECRET", "bench-secret"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DAGSTER_DISABLE_TELEMETRY": "1",
    })
    (data / "dagster_home").mkdir(parents=True, exist_ok=True)
    (data / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return env


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def py(code: str) -> list[str]:
    return [PY, "-c", code]


ALL_PHASES = ("floor", "defload", "ingest", "dbt_build", "checks", "publish", "main_job",
              "delta_1pct")


def bench_scale(name: str, cache: Path, seed: int, phases=ALL_PHASES) -> dict:
    profile, scale = SCALES[name]
    base = cache / name
    landing = base / "landing"
    print(f"[{name}] profile={profile} scale={scale}", flush=True)
    rows = []
    if not (landing / "household").exists():
        fresh(landing)
        shutil.rmtree(base / "landing_truth", ignore_errors=True)
        rows.append(timed([PY, "-m", "pipelines.cli", "synth", "--profile", profile,
                           "--scale", str(scale), "--seed", str(seed), "--out", str(landing),
                           "--quiet"], dict(os.environ), "generate"))

    if "floor" in phases:
        rows.append(timed([PY, str(ROOT / "bench" / "bench_ingest.py"), "--floor", str(landing),
                           str(fresh(base / "floor"))], dict(os.environ), "floor"))

    separate = [p for p in ("defload", "ingest", "dbt_build", "checks", "publish") if p in phases]
    if separate:
        # each phase needs the ones before it: run them all once any is asked for
        data = fresh(base / "data-phases")
        env = env_for(landing, data)
        rows.append(timed(py("import pipelines.definitions"), env, "defload"))
        rows.append(timed(py("from pipelines.ingestion import ingest_pending; ingest_pending()"),
                          env, "ingest"))
        rows.append(timed(["dbt", "build", "--project-dir", str(ROOT / "dbt_project"),
                           "--profiles-dir", str(ROOT / "dbt_project"), "--quiet",
                           "--target-path", str(data / "dbt_target")], env, "dbt_build"))
        rows.append(timed(py("import sys; from pipelines.quality import run_checks; "
                             "sys.exit(0 if run_checks() is not None else 1)"), env, "checks"))
        rows.append(timed(py("from pipelines.publish import publish_snapshot; publish_snapshot()"),
                          env, "publish"))

    if "main_job" not in phases and "delta_1pct" not in phases:
        return {"scale": name, "profile": profile, "factor": scale, "phases": rows}
    data = fresh(base / "data-main")
    env = env_for(landing, data)
    since = time.time()
    rows.append(timed([PY, "-m", "pipelines.cli", "run", "--no-generate"], env, "main_job"))
    rows[-1]["in_job"] = in_job(data, since)
    if "delta_1pct" not in phases:
        return {"scale": name, "profile": profile, "factor": scale, "phases": rows}

    # 1% delta: a second landing root holding the same deliveries plus one delta.
    delta_landing = fresh(base / "landing-delta")
    for src in landing.iterdir():
        (delta_landing / src.name).mkdir()
        for d in src.iterdir():
            os.symlink(d, delta_landing / src.name / d.name)
    subprocess.run([PY, str(ROOT / "bench" / "make_delta.py"), str(landing),
                    str(delta_landing), "0.01"], check=True)
    env = env_for(delta_landing, data)
    since = time.time()
    rows.append(timed([PY, "-m", "pipelines.cli", "run", "--no-generate"], env, "delta_1pct"))
    rows[-1]["in_job"] = in_job(data, since)
    return {"scale": name, "profile": profile, "factor": scale, "phases": rows}


def in_job(data: Path, since: float) -> dict:
    """Phases inside the run just timed, from its Dagster run records (bench/job_phases.py)."""
    proc = subprocess.run([PY, str(ROOT / "bench" / "job_phases.py"), str(data / "dagster_home"),
                           "--since", str(since)], capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}


def summarise(res: dict) -> dict:
    by = {r["phase"]: r for r in res["phases"]}
    s: dict[str, float] = {}
    if "main_job" in by:
        s["main_job_s"] = by["main_job"]["seconds"]
        s["peak_gb"] = round(max(r["peak_mb"] for r in res["phases"]
                                 if r["phase"] != "generate") / 1024, 2)
        if "floor" in by and by["floor"]["seconds"]:
            s["main_job_vs_floor"] = round(by["main_job"]["seconds"] / by["floor"]["seconds"], 2)
        if "delta_1pct" in by:
            s["delta_vs_full"] = round(by["delta_1pct"]["seconds"] / by["main_job"]["seconds"], 3)
    job = by.get("main_job", {}).get("in_job") or {}
    if job.get("dbt_s"):
        # the checks as the main job runs them (GX imported while dbt builds)
        s["checks_in_job_s"] = job["checks_s"]
        s["checks_in_job_vs_dbt"] = round(job["checks_s"] / job["dbt_s"], 3)
        s["checks_in_job_vs_main_job"] = round(job["checks_s"] / by["main_job"]["seconds"], 3)
    if "checks" in by and "dbt_build" in by and by["dbt_build"]["seconds"]:
        s["checks_vs_build"] = round(by["checks"]["seconds"] / by["dbt_build"]["seconds"], 3)
    for k in ("dbt_build", "defload", "ingest", "floor"):
        if k in by:
            s[f"{k}_s"] = by[k]["seconds"]
    return s


def write_results(all_res: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "pipeline.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    for name, res in all_res.items():
        # a run of some phases keeps the scale's other phases from earlier runs (each row is
        # its own measurement; rows carry the time they were taken)
        old = merged.get(name)
        if old and (old.get("profile"), old.get("factor")) == (res["profile"], res["factor"]):
            ran = {r["phase"] for r in res["phases"]}
            if "main_job" in ran:
                ran.add("delta_1pct")  # a delta is measured against the main job before it
            kept = [r for r in old["phases"] if r["phase"] not in ran]
            res = {**res, "phases": kept + res["phases"]}
            order = {p: i for i, p in enumerate(("generate",) + ALL_PHASES)}
            res["phases"].sort(key=lambda r: order.get(r["phase"], len(order)))
            res["summary"] = summarise(res)
        merged[name] = res
    path.write_text(json.dumps(merged, indent=2, ensure_ascii=False))
    lines = ["# onegrid pipeline benchmark", "",
             "Whole processes on this machine (2 cores, 24 GB). Peak = max RSS of the process "
             "and its children.", ""]
    for name, res in merged.items():
        lines += [f"## {name} ({res['profile']} × {res['factor']})", "",
                  "| phase | seconds | peak MB | exit |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {r['phase']} | {r['seconds']} | {r['peak_mb']} | {r['exit']} |"
                  for r in res["phases"]]
        for r in res["phases"]:
            if r.get("in_job"):
                lines += ["", f"Inside {r['phase']} (Dagster run records): " + ", ".join(
                    f"{k[:-2]} {v} s" for k, v in r["in_job"].items())]
        goals = GOALS.get(name, {})
        summ = res.get("summary", {})
        if summ:
            lines += ["", "| measure | measured | goal |", "| --- | ---: | ---: |"]
            lines += [f"| {k} | {v} | {goals.get(k, '')} |" for k, v in summ.items()]
        lines.append("")
    (RESULTS / "pipeline.md").write_text("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", default="tiny,qianxinan")
    ap.add_argument("--cache", default="/tmp/onegrid-bench")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--phases", default=",".join(ALL_PHASES),
                    help="comma-separated subset of " + ",".join(ALL_PHASES))
    args = ap.parse_args()
    phases = tuple(p for p in args.phases.split(",") if p)
    unknown = set(phases) - set(ALL_PHASES)
    if unknown:
        ap.error(f"unknown phases: {sorted(unknown)}")
    out = {}
    for name in args.scales.split(","):
        res = bench_scale(name, Path(args.cache), args.seed, phases)
        res["summary"] = summarise(res)
        out[name] = res
        write_results({name: res})
        print(json.dumps(res["summary"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
