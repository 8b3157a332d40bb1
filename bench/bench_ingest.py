"""Ingestion benchmark (issue 3): ingesting every delivery of a generated city versus the
raw-read floor (the same files merely read with polars, decoded as declared, and written as
Parquet), each timed as a whole process: wall seconds and peak RSS.

    uv run python bench/bench_ingest.py [--profile qianxinan] [--cache /tmp/onegrid-bench]
    uv run python bench/bench_ingest.py --floor <landing> <out> [--floor-workers N]  (internal)

The city is generated once into ``<cache>/<profile>/landing`` (shared with bench/harness.py).
Writes bench/results/ingest.json and bench/results/ingest.md. Goal: ingest ≤ 1.5 × floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GOAL = 1.5


def _floor_manifests(manifests: list[Path], out: Path) -> int:
    import polars as pl

    n = 0
    for manifest in manifests:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        for f in doc["files"]:
            path = manifest.parent / f["name"]
            fmt, enc = f["format"], f.get("encoding")
            if fmt == "csv":
                raw = path.read_bytes()
                if enc == "gb18030":
                    raw = raw.decode("gb18030").encode("utf-8")
                elif raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                df = pl.read_csv(io.BytesIO(raw), infer_schema=False)
            elif fmt == "xlsx":
                df = pl.read_excel(path, sheet_name="房屋", engine="calamine",
                                   infer_schema_length=0)
            elif fmt == "jsonl":
                df = pl.read_ndjson(path, infer_schema_length=None)
            else:
                gj = json.loads(path.read_text(encoding="utf-8"))
                df = pl.DataFrame([{**ft["properties"], "geometry": json.dumps(ft["geometry"])}
                                   for ft in gj["features"]])
            df.write_parquet(out / f"{manifest.parent.parent.name}-{manifest.parent.name}-"
                             f"{f['name']}.parquet")
            n += df.height
    return n


def floor(landing: Path, out: Path, workers: int = 1) -> None:
    """Read every delivered file once (as declared) and write it as Parquet; nothing else.
    With ``workers`` > 1, sources are split over that many processes the way ingestion splits
    them (biggest first): the floor of a reader that also uses every core."""
    out.mkdir(parents=True, exist_ok=True)
    manifests = sorted(landing.glob("*/*/_manifest.json"))
    if workers <= 1:
        n = _floor_manifests(manifests, out)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        by_source: dict[str, list[Path]] = {}
        for m in manifests:
            by_source.setdefault(m.parent.parent.name, []).append(m)
        size = {s: sum(f.stat().st_size for m in ms for f in m.parent.iterdir())
                for s, ms in by_source.items()}
        order = sorted(by_source, key=lambda s: -size[s])
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            n = sum(pool.map(_floor_manifests, [by_source[s] for s in order],
                             [out] * len(order)))
    print(f"floor: {n} rows")


def timed(cmd: list[str], env: dict, label: str) -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    row = {"phase": label, "wall_s": round(wall, 2), "peak_rss_mb": round(ru.ru_maxrss / 1024),
           "user_s": round(ru.ru_utime, 2), "sys_s": round(ru.ru_stime, 2), "exit": code,
           "tail": out.strip().splitlines()[-3:]}
    print(f"{label:8s} {row['wall_s']:8.2f} s  peak {row['peak_rss_mb']:6d} MB  exit {code}",
          flush=True)
    if code != 0:
        print(out[-4000:])
    return row


INGEST = """
import json, time
from collections import Counter
from pipelines.ingestion import ingest_pending
t = time.perf_counter()
res = ingest_pending()
c = Counter(r.status for r in res)
rows_in = sum(r.rows_in for r in res); bronze = sum(r.rows_bronze for r in res)
quar = sum(r.rows_quarantined for r in res)
slow = sorted(res, key=lambda r: -(r.seconds or 0))[:5]
print(json.dumps({"deliveries": len(res), "status": dict(c), "rows_in": rows_in,
                  "rows_bronze": bronze, "rows_quarantined": quar,
                  "accounted": all(r.accounted for r in res),
                  "slowest": [[r.source, r.delivery_id, r.seconds] for r in slow],
                  "engine_s": round(time.perf_counter() - t, 2)}))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="qianxinan")
    ap.add_argument("--cache", default="/tmp/onegrid-bench")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--floor", nargs=2, metavar=("LANDING", "OUT"))
    ap.add_argument("--floor-workers", type=int, default=1)
    args = ap.parse_args()
    if args.floor:
        floor(Path(args.floor[0]), Path(args.floor[1]), args.floor_workers)
        return 0

    base = Path(args.cache) / args.profile
    landing = base / "landing"
    py = sys.executable
    if not (landing / "household").exists():
        print(f"generating {args.profile} into {landing} (once)", flush=True)
        subprocess.run([py, "-m", "pipelines.cli", "synth", "--profile", args.profile,
                        "--seed", str(args.seed), "--out", str(landing), "--quiet"],
                       cwd=ROOT, check=True)
    size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
    files = sum(1 for _ in landing.glob("*/*/_manifest.json"))

    floor_out = base / "bench-floor"
    data = base / "bench-ingest-data"
    for d in (floor_out, data):
        shutil.rmtree(d, ignore_errors=True)
    env = dict(os.environ, ONEGRID_LANDING_DIR=str(landing), ONEGRID_DATA_DIR=str(data),
               ONEGRID_KEY_SECRET=os.environ.get("ONEGRID_KEY_SECRET", "bench-secret"))
    rows = [timed([py, str(Path(__file__).resolve()), "--floor", str(landing), str(floor_out)],
                  env, "floor"),
            timed([py, "-c", INGEST], env, "ingest")]
    shutil.rmtree(floor_out, ignore_errors=True)
    # the floor again with the sources over two processes, as ingestion runs them
    rows.append(timed([py, str(Path(__file__).resolve()), "--floor", str(landing), str(floor_out),
                       "--floor-workers", "2"], env, "floor_2proc"))
    detail = {}
    try:
        detail = json.loads(rows[1]["tail"][-1])
    except (ValueError, IndexError):
        pass
    ratio = rows[1]["wall_s"] / rows[0]["wall_s"] if rows[0]["wall_s"] else None
    doc = {"profile": args.profile, "when": dt.datetime.now(dt.timezone.utc).isoformat(
        timespec="seconds"), "landing_mb": round(size / 2**20, 1), "deliveries": files,
        "cores": os.cpu_count(), "phases": rows, "ingest": detail,
        "ratio_ingest_vs_floor": round(ratio, 2) if ratio else None, "goal_ratio": GOAL,
        "ratio_ingest_vs_floor_2proc": round(rows[1]["wall_s"] / rows[2]["wall_s"], 2)
        if rows[2]["wall_s"] else None,
        "meets_goal": bool(ratio and ratio <= GOAL)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1))
    md = [f"# Ingestion benchmark ({args.profile})", "",
          f"{doc['when']}, {files} deliveries, {doc['landing_mb']} MB landing, "
          f"{doc['cores']} cores (shared machine).", "",
          "| phase | wall s | peak RSS MB | user s |", "| --- | ---: | ---: | ---: |"]
    md += [f"| {r['phase']} | {r['wall_s']} | {r['peak_rss_mb']} | {r['user_s']} |" for r in rows]
    md += ["", f"ingest / floor = **{doc['ratio_ingest_vs_floor']}** (goal ≤ {GOAL}: "
           f"{'met' if doc['meets_goal'] else 'NOT met'}). Ingestion runs the sources in two "
           f"worker processes; against a floor that does the same (floor_2proc) the ratio is "
           f"{doc['ratio_ingest_vs_floor_2proc']}.", ""]
    if detail:
        md += [f"rows in {detail.get('rows_in')}, bronze {detail.get('rows_bronze')}, "
               f"quarantined {detail.get('rows_quarantined')}, accounted "
               f"{detail.get('accounted')}; statuses {detail.get('status')}", ""]
    (RESULTS / "ingest.md").write_text("\n".join(md), encoding="utf-8")
    print(f"ingest/floor = {doc['ratio_ingest_vs_floor']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
