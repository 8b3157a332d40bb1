"""Read one delivered file into a DataFrame of text columns named as in the contract.

Every reader returns ``(df, rows)``: ``df`` has the contract's (Chinese) column names (after
operator aliases), every value as delivered text (JSON nested values flattened), plus
``_row_number`` (1-based data row, header excluded). Problems that make the file unreadable
raise ``ContractError`` naming the file (and the line where known); messages never quote data.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from pipelines.lib.manifest import ContractError, Manifest, ManifestFile

# JSON Lines: the incident event shape; scalars read as text, nested objects as structs.
_STEP = pl.Struct({"环节": pl.String, "时间": pl.String, "部门": pl.String})
EVENT_SCHEMA = {
    "事件编号": pl.String, "来源渠道": pl.String, "上报时间": pl.String, "事件大类": pl.String,
    "事件小类": pl.String, "描述": pl.String, "地址": pl.String,
    "坐标": pl.Struct({"经度": pl.String, "纬度": pl.String, "坐标系": pl.String}),
    "原网格编码": pl.Struct({"体系": pl.String, "编码": pl.String}),
    "流转记录": pl.List(_STEP),
    "处置时限小时": pl.String, "当前状态": pl.String, "满意度": pl.String,
}


_POLARS_READ_ERRORS = (pl.exceptions.ComputeError, pl.exceptions.NoDataError,
                       pl.exceptions.ShapeError, pl.exceptions.SchemaError)


def decode(data: bytes, encoding: str, m: Manifest, f: ManifestFile) -> str:
    """Bytes → str in the declared encoding; a failure names the file and line."""
    codec = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030"}[encoding]
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContractError(m.where, f"cannot be decoded as {encoding} (byte {exc.start}, "
                            f"line {line})", file=f.name, row=None) from None
    if text.startswith("\ufeff"):  # a BOM on a utf-8 file is harmless
        text = text[1:]
    return text


def map_columns(delivered: list[str], contract: list[str], aliases: dict[str, str],
                m: Manifest, f: ManifestFile) -> dict[str, str]:
    """delivered name → contract name, or ContractError naming missing/unknown columns."""
    mapping: dict[str, str] = {}
    seen: set[str] = set()
    dupes = []
    for name in delivered:
        key = name.strip()
        target = aliases.get(key, key)
        if target in seen:
            dupes.append(name)
        seen.add(target)
        mapping[name] = target
    missing = [c for c in contract if c not in seen]
    unknown = [d for d, c in mapping.items() if c not in contract]
    problems = []
    if missing:
        problems.append("missing column(s) " + ", ".join(missing))
    if unknown:
        problems.append("unknown column(s) " + ", ".join(unknown))
    if dupes:
        problems.append("duplicated column(s) " + ", ".join(dupes))
    if problems:
        hint = (" (a renamed column is accepted only with an alias in config/ingestion.yaml)"
                if missing and unknown else "")
        raise ContractError(m.where, "; ".join(problems) + hint, file=f.name)
    return mapping


def _check_rows(n: int, m: Manifest, f: ManifestFile) -> None:
    if n != f.rows:
        raise ContractError(m.where, f"{n} data rows, the manifest says {f.rows}", file=f.name)


def read_csv(path: Path, data: bytes, m: Manifest, f: ManifestFile,
             aliases: dict[str, str]) -> pl.DataFrame:
    text = decode(data, f.encoding or "utf-8", m, f)
    if not text.strip():
        raise ContractError(m.where, "file is empty (no header row)", file=f.name)
    buf = io.BytesIO(text.encode("utf-8")) if f.encoding == "gb18030" or data[:3] == b"\xef\xbb\xbf" \
        else io.BytesIO(data)
    del text
    try:
        df = pl.read_csv(buf, infer_schema=False, has_header=True, quote_char='"',
                         raise_if_empty=True)
    except _POLARS_READ_ERRORS as exc:  # polars messages may quote data: keep only the kind
        raise ContractError(m.where, f"not readable as RFC 4180 CSV ({exc.__class__.__name__})",
                            file=f.name) from None
    mapping = map_columns(df.columns, list(f.spec.columns), aliases, m, f)
    _check_rows(df.height, m, f)
    return df.rename(mapping).with_row_index("_row_number", offset=1).with_columns(
        pl.col("_row_number").cast(pl.Int64))


def read_xlsx(path: Path, m: Manifest, f: ManifestFile, aliases: dict[str, str]) -> pl.DataFrame:
    import fastexcel

    sheet = f.spec.sheet or 0
    try:
        reader = fastexcel.read_excel(str(path))
        if sheet not in reader.sheet_names:
            raise ContractError(m.where, f"no sheet named '{sheet}'", file=f.name)
        df = pl.read_excel(path, sheet_name=sheet, engine="calamine", infer_schema_length=0,
                           raise_if_empty=False)
    except ContractError:
        raise
    except Exception as exc:
        raise ContractError(m.where, f"not readable as xlsx ({exc.__class__.__name__})",
                            file=f.name) from None
    if not df.columns or (df.width == 1 and df.columns[0] in ("", "__UNNAMED__0")):
        raise ContractError(m.where, "file is empty (no header row)", file=f.name)
    df = df.with_columns(pl.all().cast(pl.String))
    mapping = map_columns(df.columns, list(f.spec.columns), aliases, m, f)
    _check_rows(df.height, m, f)
    return df.rename(mapping).with_row_index("_row_number", offset=1).with_columns(
        pl.col("_row_number").cast(pl.Int64))


def read_jsonl(path: Path, data: bytes, m: Manifest, f: ManifestFile,
               aliases: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Returns (events, bad_lines): bad_lines are lines that are not a JSON object (their
    text kept for quarantine)."""
    text = decode(data, f.encoding or "utf-8", m, f)
    lines = pl.Series("_raw", text.split("\n"), dtype=pl.String)
    del text
    frame = (pl.DataFrame(lines).with_row_index("_line", offset=1)
             .with_columns(pl.col("_raw").str.strip_chars_end("\r"))
             .filter(pl.col("_raw").str.strip_chars() != ""))
    _check_rows(frame.height, m, f)
    frame = frame.with_row_index("_row_number", offset=1).with_columns(
        pl.col("_row_number").cast(pl.Int64))
    contract = list(f.spec.columns)
    # schema drift: keys of (a sample of) the lines, mapped through aliases
    keys: dict[str, None] = {}
    bad_rows: list[int] = []
    sample = frame.head(2000)
    for rn, raw in zip(sample["_row_number"], sample["_raw"]):
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(obj))
    if frame.height and not keys:
        raise ContractError(m.where, "no line is a JSON object", file=f.name)
    if frame.height:
        map_columns(list(keys), contract, aliases, m, f)
    rename = {k: v for k, v in aliases.items() if k in keys}
    body = "\n".join(frame["_raw"].to_list()).encode("utf-8")
    schema = dict(EVENT_SCHEMA)
    for k, v in rename.items():
        schema[k] = schema.pop(v)
    try:
        ev = pl.read_ndjson(io.BytesIO(body), schema=schema) if frame.height else \
            pl.DataFrame(schema=schema)
        bad = frame.clear()
    except Exception:
        # some line is not valid JSON: find them (only on this slow path) and quarantine them
        ok_mask = []
        for raw in frame["_raw"]:
            try:
                ok_mask.append(isinstance(json.loads(raw), dict))
            except ValueError:
                ok_mask.append(False)
        mask = pl.Series(ok_mask, dtype=pl.Boolean)
        good, bad = frame.filter(mask), frame.filter(~mask)
        try:
            body = "\n".join(good["_raw"].to_list()).encode("utf-8")
            ev = pl.read_ndjson(io.BytesIO(body), schema=schema) if good.height else \
                pl.DataFrame(schema=schema)
        except Exception as exc:
            raise ContractError(m.where, f"JSON Lines not readable ({exc.__class__.__name__})",
                                file=f.name) from None
        frame = good
    ev = ev.rename(rename).with_columns(frame["_row_number"])
    return ev, bad.select("_row_number", "_raw")


def read_geojson(path: Path, data: bytes, m: Manifest, f: ManifestFile,
                 aliases: dict[str, str]) -> pl.DataFrame:
    import shapely

    text = decode(data, f.encoding or "utf-8", m, f)
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ContractError(m.where, f"not valid JSON (line {exc.lineno})", file=f.name) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" \
            or not isinstance(doc.get("features"), list):
        raise ContractError(m.where, "not a GeoJSON FeatureCollection", file=f.name)
    feats = doc["features"]
    _check_rows(len(feats), m, f)
    contract = list(f.spec.columns)
    keys: dict[str, None] = {}
    for ft in feats:
        keys.update(dict.fromkeys((ft.get("properties") or {}) if isinstance(ft, dict) else {}))
    if feats:
        map_columns(list(keys), contract, aliases, m, f)
    rename = {k: aliases.get(k, k) for k in keys}
    cols: dict[str, list] = {c: [] for c in contract}
    geoms: list[str | None] = []
    for ft in feats:
        props = (ft.get("properties") or {}) if isinstance(ft, dict) else {}
        got = {rename.get(k, k): v for k, v in props.items()}
        for c in contract:
            v = got.get(c)
            cols[c].append(None if v is None else str(v))
        g = ft.get("geometry") if isinstance(ft, dict) else None
        geoms.append(json.dumps(g) if g else None)
    garr = shapely.from_geojson(geoms, on_invalid="ignore") if geoms else []
    wkt = shapely.to_wkt(garr, rounding_precision=-1) if len(geoms) else []
    df = pl.DataFrame({**cols, "geometry_wkt": list(wkt) if len(geoms) else []},
                      schema={**{c: pl.String for c in contract}, "geometry_wkt": pl.String})
    return df.with_row_index("_row_number", offset=1).with_columns(
        pl.col("_row_number").cast(pl.Int64))
