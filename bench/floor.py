"""The raw-read floor: read every extract in a landing root once (decoding it as declared)
and write it as Parquet, with no verification, normalisation or modelling.

    python bench/floor.py <landing_root> <out_dir>
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import polars as pl


def read_file(path: Path, fmt: str, encoding: str | None) -> pl.DataFrame:
    if fmt == "csv":
        raw = path.read_bytes()
        if encoding == "gb18030":
            raw = raw.decode("gb18030").encode("utf-8")
        elif encoding == "utf-8-sig" and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        return pl.read_csv(io.BytesIO(raw), infer_schema=False)
    if fmt == "xlsx":
        return pl.read_excel(path, sheet_name="房屋", engine="calamine",
                             infer_schema_length=0)
    if fmt == "jsonl":
        return pl.read_ndjson(path, infer_schema_length=None)
    if fmt == "geojson":
        doc = json.loads(path.read_text(encoding="utf-8"))
        return pl.DataFrame([{**f["properties"], "geometry": json.dumps(f["geometry"])}
                             for f in doc["features"]])
    raise ValueError(fmt)


def main(landing: Path, out: Path) -> int:
    n = 0
    for manifest in sorted(landing.glob("*/*/_manifest.json")):
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        for f in doc["files"]:
            df = read_file(manifest.parent / f["name"], f["format"], f.get("encoding"))
            target = out / doc["source"] / doc["delivery_id"]
            target.mkdir(parents=True, exist_ok=True)
            df.write_parquet(target / (Path(f["name"]).stem + ".parquet"))
            n += df.height
    print(f"{n} rows read and written")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
