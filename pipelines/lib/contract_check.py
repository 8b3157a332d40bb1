"""Full-content check of one delivery against the extract contract.

``check_delivery(delivery_dir)`` reads the manifest (``lib.manifest``), verifies checksums,
decodes every file in its declared encoding, compares the header with the contract's columns
exactly and counts data rows against the manifest. It returns a list of problems (empty when
the delivery conforms). Messages name the delivery, file and row, never a data value.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pipelines.lib.manifest import ContractError, ManifestFile, read_manifest, verify_checksums


def check_delivery(delivery_dir: Path) -> list[str]:
    delivery_dir = Path(delivery_dir)
    try:
        manifest = read_manifest(delivery_dir)
    except ContractError as exc:
        return [str(exc)]
    problems: list[str] = []
    try:
        verify_checksums(manifest)
    except ContractError as exc:
        problems.append(str(exc))
    for f in manifest.files:
        where = f"{manifest.where}/{f.name}"
        try:
            rows = _check_file(delivery_dir / f.name, f, where, problems)
        except Exception as exc:  # a broken file must not crash the checker
            problems.append(f"{where}: cannot be read as {f.format} ({exc.__class__.__name__})")
            continue
        if rows is not None and rows != f.rows:
            problems.append(f"{where}: {rows} data rows, the manifest says {f.rows}")
    return problems


def _expected(f: ManifestFile) -> list[str]:
    return list(f.spec.columns)


def _header_problem(where: str, got: list[str], want: list[str]) -> str | None:
    if got == want:
        return None
    missing = [c for c in want if c not in got]
    unknown = [c for c in got if c not in want]
    if not missing and not unknown:
        return f"{where}: columns in a different order than the contract"
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if unknown:
        parts.append(f"{len(unknown)} unknown column(s)")
    return f"{where}: header differs from the contract ({'; '.join(parts)})"


def _decode(path: Path, encoding: str, where: str, problems: list[str]) -> str | None:
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(f"{where}: not valid {encoding} (line {line})")
        return None
    if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf"):
        pass  # a missing BOM still decodes; accepted
    return text


def _check_file(path: Path, f: ManifestFile, where: str, problems: list[str]) -> int | None:
    want = _expected(f)
    if f.format == "csv":
        return _check_csv(path, f, where, want, problems)
    if f.format == "jsonl":
        return _check_jsonl(path, f, where, want, problems)
    if f.format == "geojson":
        text = _decode(path, f.encoding or "utf-8", where, problems)
        if text is None:
            return None
        doc = json.loads(text)
        if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
            problems.append(f"{where}: not a GeoJSON FeatureCollection")
            return None
        for i, feat in enumerate(doc["features"], start=1):
            props = feat.get("properties") or {}
            if set(props) != set(want):
                problems.append(_header_problem(f"{where} feature {i}", list(props), want) or
                                f"{where} feature {i}: properties differ from the contract")
            geom = feat.get("geometry") or {}
            if geom.get("type") not in ("Polygon", "MultiPolygon"):
                problems.append(f"{where} feature {i}: geometry is not a Polygon or MultiPolygon")
            if sum(1 for x in problems if x.startswith(where)) > 20:
                break
        return len(doc["features"])
    if f.format == "xlsx":
        return _check_xlsx(path, f, where, want, problems)
    problems.append(f"{where}: unknown format {f.format}")
    return None


def _open_text(path: Path, encoding: str):
    return open(path, encoding=encoding, newline="", errors="strict")


def _too_many(problems: list[str], where: str) -> bool:
    return sum(1 for x in problems if x.startswith(where)) > 20


def _check_csv(path: Path, f: ManifestFile, where: str, want: list[str], problems: list[str]) -> int | None:
    """Streams the file: decodes in the declared encoding, counts RFC 4180 records."""
    rows = 0
    try:
        with _open_text(path, f.encoding or "utf-8") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                problems.append(f"{where}: empty file (no header row)")
                return None
            if f.encoding == "utf-8" and header and header[0].startswith("\ufeff"):
                header[0] = header[0][1:]
            p = _header_problem(where, header, want)
            if p:
                problems.append(p)
            for rows, rec in enumerate(reader, start=1):
                if len(rec) != len(header):
                    problems.append(f"{where} row {rows}: {len(rec)} fields, header has {len(header)}")
                    if _too_many(problems, where):
                        break
    except UnicodeDecodeError:
        problems.append(f"{where}: not valid {f.encoding} (after data row {rows})")
        return None
    except csv.Error as exc:
        problems.append(f"{where} row {rows + 1}: malformed CSV ({exc.__class__.__name__})")
        return None
    return rows


def _check_jsonl(path: Path, f: ManifestFile, where: str, want: list[str], problems: list[str]) -> int | None:
    rows = 0
    i = 0
    try:
        with _open_text(path, f.encoding or "utf-8") as fh:
            for i, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                rows += 1
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    problems.append(f"{where} row {i}: not valid JSON")
                    continue
                if not isinstance(obj, dict):
                    problems.append(f"{where} row {i}: not a JSON object")
                elif set(obj) != set(want):
                    problems.append(_header_problem(f"{where} row {i}", list(obj), want)
                                    or f"{where} row {i}: keys differ from the contract")
                if _too_many(problems, where):
                    break
    except UnicodeDecodeError:
        problems.append(f"{where}: not valid {f.encoding} (after line {i})")
        return None
    return rows


def _check_xlsx(path: Path, f: ManifestFile, where: str, want: list[str], problems: list[str]) -> int | None:
    import fastexcel

    reader = fastexcel.read_excel(str(path))
    sheet_name = f.spec.sheet or reader.sheet_names[0]
    if sheet_name not in reader.sheet_names:
        problems.append(f"{where}: no sheet named {sheet_name}")
        return None
    sheet = reader.load_sheet_by_name(sheet_name, header_row=None,
                                      dtypes="string")
    df = sheet.to_polars()
    if df.height == 0:
        problems.append(f"{where}: sheet {sheet_name} is empty (no header row)")
        return None
    header = ["" if v is None else str(v) for v in df.row(0)]
    while header and header[-1] == "":
        header.pop()
    p = _header_problem(where, header, want)
    if p:
        problems.append(p)
    # trailing completely empty rows are not data rows
    body = df.slice(1)
    import polars as pl

    nonempty = body.select(pl.any_horizontal(pl.all().is_not_null() & (pl.all() != "")).alias("x"))["x"]
    idx = nonempty.arg_true()
    return int(idx[-1]) + 1 if len(idx) else 0
