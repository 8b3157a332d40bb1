"""Writers for delivery files and manifests (shared/contracts/extracts.md).

- CSV: polars writes UTF-8 in chunks; each chunk is re-encoded to the declared encoding.
- XLSX: written directly as SpreadsheetML (a zip of XML parts) with inline-string cells built
  by vectorised polars string expressions: millions of rows in seconds, where a cell-by-cell
  Python writer would take many minutes. Code columns are text cells; listed numeric columns
  are number cells.
- JSONL via polars ``write_ndjson``; GeoJSON via ``json``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl

from pipelines.lib.manifest import MANIFEST_NAME, sha256_file

SYSTEMS = {
    "grid": "综治中心网格化服务管理平台",
    "household": "公安实有人口管理系统",
    "housing": "住建实有房屋管理信息系统",
    "party": "全国党员管理信息系统",
    "incident": "网格化服务管理事件处置系统",
}

XLSX_MAX_ROWS = 1_000_000
CHUNK = 250_000


def write_csv(df: pl.DataFrame, path: Path, encoding: str) -> int:
    """RFC 4180 CSV, every column as text; returns data rows."""
    df = df.select(pl.all().cast(pl.String))
    df = df.with_columns(pl.when(pl.all() == "").then(None).otherwise(pl.all()).name.keep())
    with open(path, "wb") as fh:
        if encoding == "utf-8-sig":
            fh.write("\ufeff".encode("utf-8"))
        for i, start in enumerate(range(0, max(df.height, 1), CHUNK)):
            part = df.slice(start, CHUNK)
            text = part.write_csv(include_header=(i == 0), quote_style="necessary")
            fh.write(text.encode("gb18030" if encoding == "gb18030" else "utf-8"))
    return df.height


def write_jsonl(df: pl.DataFrame, path: Path) -> int:
    df.write_ndjson(path)
    return df.height


def write_geojson(features: list[dict], path: Path) -> int:
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return len(features)


# --- xlsx ---------------------------------------------------------------------------------
def _col_letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _esc(e: pl.Expr) -> pl.Expr:
    return e.str.replace_all("&", "&amp;", literal=True).str.replace_all(
        "<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True)


_CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
       '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
       '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
       '</Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
         '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
         '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
         '</Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
       '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            '</Relationships>')
_STYLES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
           '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
           '</styleSheet>')
_APP = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        '<Application>onegrid synth</Application></Properties>')
_CORE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
         'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>onegrid</dc:creator></cp:coreProperties>')


def _sheet_rows(df: pl.DataFrame, first_row: int, numeric: set[str]) -> pl.DataFrame:
    """SpreadsheetML <row> elements for ``df`` (all columns text except ``numeric``), one
    vectorised string expression per column. Cells carry no reference: every column gets a
    cell in order (``<c/>`` when empty), which readers place sequentially."""
    rownum = (pl.int_range(0, pl.len()) + first_row).cast(pl.String)
    cells = []
    for col in df.columns:
        v = pl.col(col).cast(pl.String)
        v = pl.when(v != "").then(v)                  # "" -> null: an empty cell
        if col not in numeric and df[col].dtype == pl.String and df[col].str.contains("[&<>]").any():
            v = _esc(v)
        if col in numeric:
            cells.append((pl.lit("<c><v>") + v + pl.lit("</v></c>")).fill_null("<c/>"))
        else:
            cells.append((pl.lit('<c t="inlineStr"><is><t>') + v + pl.lit("</t></is></c>")).fill_null("<c/>"))
    row = pl.concat_str([pl.lit('<row r="') + rownum + pl.lit('">'), *cells, pl.lit("</row>")])
    return df.select(row.alias("x"))


def write_xlsx(df: pl.DataFrame, path: Path, sheet: str, numeric: set[str]) -> int:
    header = pl.DataFrame({c: [c] for c in df.columns})
    head_xml = _sheet_rows(header, 1, set())
    ncols = len(df.columns)
    dim = f"A1:{_col_letters(ncols - 1)}{df.height + 1}"
    def info(name: str) -> zipfile.ZipInfo:
        zi = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))   # fixed: deterministic bytes
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi._compresslevel = 1          # fastest deflate (the project runs Python 3.11)
        return zi

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, text in (("[Content_Types].xml", _CT), ("_rels/.rels", _RELS), ("docProps/app.xml", _APP),
                           ("docProps/core.xml", _CORE), ("xl/workbook.xml", _WB.format(sheet=sheet)),
                           ("xl/_rels/workbook.xml.rels", _WB_RELS), ("xl/styles.xml", _STYLES)):
            zf.writestr(info(name), text, compresslevel=1)
        with zf.open(info("xl/worksheets/sheet1.xml"), "w", force_zip64=True) as fh:
            fh.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                      '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                      f'<dimension ref="{dim}"/><sheetData>').encode())
            head_xml.write_csv(fh, include_header=False, quote_style="never")
            for start in range(0, df.height, 100_000):
                part = df.slice(start, 100_000)
                _sheet_rows(part, start + 2, numeric).write_csv(fh, include_header=False, quote_style="never")
            fh.write(b"</sheetData></worksheet>")
    return df.height


def write_manifest(ddir: Path, source: str, delivery_id: str, kind: str, extracted_at: str,
                   files: list[tuple[str, str, str | None, int]]) -> None:
    """files: (name, format, encoding, rows); sha256 computed from the written files."""
    entries = []
    for name, fmt, enc, rows in files:
        e = {"name": name, "format": fmt}
        if enc is not None:
            e["encoding"] = enc
        e["rows"] = rows
        e["sha256"] = sha256_file(ddir / name)
        entries.append(e)
    doc = {"source": source, "system": SYSTEMS[source], "delivery_id": delivery_id,
           "extracted_at": extracted_at, "kind": kind, "files": entries}
    (ddir / MANIFEST_NAME).write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
