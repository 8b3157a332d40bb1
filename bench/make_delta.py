"""Write a household delta delivery that changes a share of the persons (bench of issue 7).

    python bench/make_delta.py <source_landing> <target_landing> <share>

Takes the newest full persons.csv of the source landing root, changes the phone of a random
share of its persons (变动类型 变更), and writes one contract-conforming delta delivery dated
the day after the newest household delivery into the target landing root.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl


def main(src: Path, dst: Path, share: float) -> int:
    deliveries = sorted(p for p in (src / "household").iterdir() if p.is_dir())
    fulls = [d for d in deliveries
             if json.loads((d / "_manifest.json").read_text("utf-8"))["kind"] == "full"]
    raw = (fulls[-1] / "persons.csv").read_bytes().decode("gb18030")
    persons = pl.read_csv(io.StringIO(raw), infer_schema=False)
    rng = np.random.default_rng(7)
    pick = rng.random(persons.height) < share
    last = dt.datetime.strptime(deliveries[-1].name[:8], "%Y%m%d")
    new_id = (last + dt.timedelta(days=1)).strftime("%Y%m%d")
    phones = [f"139{n:08d}" for n in rng.integers(0, 10**8, int(pick.sum()))]
    delta = persons.filter(pl.Series(pick)).with_columns(
        pl.Series("联系电话", phones),
        pl.lit("变更").alias("变动类型"),
        pl.lit(last.strftime("%Y-%m-%d")).alias("变动日期"),
    )
    out = dst / "household" / new_id
    out.mkdir(parents=True)
    body = delta.write_csv().encode("gb18030")
    (out / "persons.csv").write_bytes(body)
    manifest = {
        "source": "household", "system": "公安实有人口管理系统", "delivery_id": new_id,
        "extracted_at": (last + dt.timedelta(days=1, hours=2)).strftime("%Y-%m-%dT%H:%M:%S+08:00"),
        "kind": "delta",
        "files": [{"name": "persons.csv", "format": "csv", "encoding": "gb18030",
                   "rows": delta.height, "sha256": hashlib.sha256(body).hexdigest()}],
    }
    (out / "_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                        encoding="utf-8")
    print(f"delta household/{new_id}: {delta.height} of {persons.height} persons changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])))
