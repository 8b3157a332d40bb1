"""Whole-process benchmark of the synthetic city generator.

    uv run python bench/bench_synth.py [tiny qianxinan 10m ...]

Each case runs `generate` in a fresh Python process (timed with /usr/bin/time -v when present,
else resource.getrusage(RUSAGE_CHILDREN)) and records wall time and peak RSS to
bench/results/synth.json and synth.md. Figures on the shared 2-core machine vary with load.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CASES = {
    "tiny": ("tiny", 1.0),
    "qianxinan": ("qianxinan", 1.0),
    "10m": ("qianxinan", 8.3),
}
CODE = """
import json, sys
from pathlib import Path
from pipelines.synth import generate
t = generate(sys.argv[1], Path(sys.argv[2]), scale=float(sys.argv[3]), seed=0, progress=False)
c = json.loads((t / "counts.json").read_text(encoding="utf-8"))
print("COUNTS " + json.dumps({"residents": c["city"]["residents"], "houses": c["city"]["houses"],
      "grids": c["city"]["grids"], **c["meta"]}))
"""


def run(name: str, profile: str, scale: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"bench_synth_{name}_"))
    out = work / "landing"
    cmd = [sys.executable, "-c", CODE, profile, str(out), str(scale)]
    timev = Path("/usr/bin/time")
    t0 = time.perf_counter()
    if timev.exists():
        proc = subprocess.run([str(timev), "-v", *cmd], capture_output=True, text=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        peak_mb = int(m.group(1)) / 1024 if m else None
        u = re.search(r"User time \(seconds\): ([\d.]+)", proc.stderr)
        sy = re.search(r"System time \(seconds\): ([\d.]+)", proc.stderr)
        cpu = float(u.group(1)) + float(sy.group(1)) if u and sy else None
    else:
        import resource

        proc = subprocess.run(cmd, capture_output=True, text=True)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb = ru.ru_maxrss / 1024
        cpu = ru.ru_utime + ru.ru_stime
    wall = time.perf_counter() - t0
    counts = {}
    for line in proc.stdout.splitlines():
        if line.startswith("COUNTS "):
            counts = json.loads(line[7:])
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.exists() else 0
    timings = {}
    tj = work / "landing_truth" / "timings.json"
    if tj.exists():
        timings = json.loads(tj.read_text())
    shutil.rmtree(work, ignore_errors=True)
    return {"case": name, "profile": profile, "scale": scale, "ok": proc.returncode == 0,
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1) if cpu else None, "peak_rss_mb": round(peak_mb) if peak_mb else None,
            "landing_mb": round(size / 2**20), "counts": counts, "steps": timings,
            "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0],
            "error": None if proc.returncode == 0 else proc.stderr[-2000:]}


def main(argv: list[str]) -> None:
    names = argv or list(CASES)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "synth.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        profile, scale = CASES[name]
        r = run(name, profile, scale)
        results[name] = r
        print(f"{name}: {'ok' if r['ok'] else 'FAILED'} wall {r['wall_s']} s, cpu {r['cpu_s']} s, peak RSS {r['peak_rss_mb']} MB, "
              f"residents {r['counts'].get('residents')}", flush=True)
        path.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    lines = ["# Synthetic city generator benchmark", "",
             "Whole process (`generate`, fresh interpreter), shared 2-core machine; other jobs were running.", "",
             "| case | profile | scale | residents | houses | wall (s) | CPU user+sys (s) | peak RSS (MB) | landing (MB) | load avg |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results.values():
        c = r["counts"]
        lines.append(f"| {r['case']} | {r['profile']} | {r['scale']} | {c.get('residents', '')} | "
                     f"{c.get('houses', '')} | {r['wall_s']} | {r.get('cpu_s')} | {r['peak_rss_mb']} | {r['landing_mb']} | "
                     f"{r.get('load_avg_1m', 0):.1f} |")
    (RESULTS / "synth.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
