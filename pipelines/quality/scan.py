"""Identity scanner: finds identity numbers and mobile numbers in clear.

``scan_paths(paths)`` looks inside Parquet files (every string/integer column), text files
(HTML, JSON, CSV, logs, YAML...) and SQLite databases (the Dagster event log and run storage in
``DAGSTER_HOME``) and returns findings that give a location only: file, column/line/table,
the kind of number and how many, never the value.

Kinds:
    id18     18 characters with a valid GB 11643 check character and a plausible birth date
    id15     15 digits with a plausible embedded birth date 1940-1999 (legacy numbers; the
             year bound keeps 15-digit unified grid codes, whose township part is 001-399, out)
    mobile   11-digit mainland mobile number 1[3-9]xxxxxxxxx

Numbers must stand alone (not inside a longer run of ASCII letters/digits), so keyed hashes
(hex) and long numeric ids do not count. ``python -m pipelines.quality.scan <data_dir>``
scans the open parts of a data dir and exits 1 on findings.
"""

from __future__ import annotations

import datetime as _dt
import re
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.idnumber import CHECK_CHARS, WEIGHTS

# A number stands alone: not inside a longer run of letters/digits, and not the fractional
# part of a decimal (``5266.19213545621`` is a duration, not a phone).
_B, _E = r"(?<![0-9A-Za-z])(?<![0-9]\.)", r"(?![0-9A-Za-z])"
RE_ID18 = re.compile(_B + r"(\d{17}[\dXx])" + _E)
RE_ID15 = re.compile(_B + r"(\d{15})" + _E)
RE_MOBILE = re.compile(_B + r"(1[3-9]\d{9})" + _E)
# RE2 (pyarrow) variant: a cheap prefilter for Parquet string columns.
PREFILTER = r"(^|[^0-9A-Za-z])(\d{15}|\d{17}[\dXx]|1[3-9]\d{9})([^0-9A-Za-z]|$)"
TEXT_SUFFIXES = {".html", ".htm", ".json", ".csv", ".txt", ".log", ".out", ".err", ".md",
                 ".yaml", ".yml", ".sql", ".jsonl", ".xml", ".compute"}
SQLITE_SUFFIXES = {".db", ".sqlite", ".sqlite3"}


@dataclass(frozen=True)
class Finding:
    path: str
    location: str     # column / line / table.column
    kind: str         # id18 / id15 / mobile
    count: int

    def __str__(self) -> str:
        return f"{self.path} [{self.location}]: {self.count} x {self.kind}"


def _date_ok(s: str) -> bool:
    try:
        d = _dt.date(int(s[0:4]), int(s[4:6]), int(s[6:8]))
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= d <= _dt.date.today()


def _id18_ok(s: str) -> bool:
    s = s.upper()
    total = sum(int(c) * w for c, w in zip(s[:17], WEIGHTS))
    return CHECK_CHARS[total % 11] == s[17] and _date_ok(s[6:14])


def classify(text: str) -> dict[str, int]:
    """Counts of identity/mobile numbers in a string (kind -> count)."""
    out: dict[str, int] = {}
    for m in RE_ID18.finditer(text):
        if _id18_ok(m.group(1)):
            out["id18"] = out.get("id18", 0) + 1
    for m in RE_ID15.finditer(text):
        # born 1940-1999: 15-digit unified grid codes (township part 001-399) never match
        if m.group(1)[6:8] >= "40" and _date_ok("19" + m.group(1)[6:12]):
            out["id15"] = out.get("id15", 0) + 1
    for m in RE_MOBILE.finditer(text):
        out["mobile"] = out.get("mobile", 0) + 1
    return out


def _add(findings: list, path: Path, loc: str, counts: dict[str, int]) -> None:
    for kind, n in sorted(counts.items()):
        if n:
            findings.append(Finding(str(path), loc, kind, n))


def scan_parquet(path: Path) -> list[Finding]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    findings: list[Finding] = []
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=200_000):
        for name, col in zip(batch.schema.names, batch.columns):
            t = col.type
            if pa.types.is_dictionary(t):
                col = col.cast(t.value_type)
                t = t.value_type
            counts: dict[str, int] = {}
            if pa.types.is_string(t) or pa.types.is_large_string(t):
                mask = pc.match_substring_regex(col, PREFILTER)
                hits = pc.filter(col, pc.fill_null(mask, False))
                for v in hits.to_pylist():
                    for k, n in classify(v).items():
                        counts[k] = counts.get(k, 0) + n
            elif pa.types.is_integer(t):
                in_mobile = pc.and_(pc.greater_equal(col, 13_000_000_000),
                                    pc.less_equal(col, 19_999_999_999))
                n = pc.sum(pc.cast(pc.fill_null(in_mobile, False), pa.int64())).as_py() or 0
                if n:
                    counts["mobile"] = n
            elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t):
                for v in col.to_pylist():
                    if v is not None:
                        for k, n in classify(str(v)).items():
                            counts[k] = counts.get(k, 0) + n
            _add(findings, path, f"column {name}", counts)
    merged: dict[tuple, int] = {}
    for f in findings:
        merged[(f.location, f.kind)] = merged.get((f.location, f.kind), 0) + f.count
    return [Finding(str(path), loc, kind, n) for (loc, kind), n in sorted(merged.items())]


def scan_text(path: Path) -> list[Finding]:
    findings: list[Finding] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh, 1):
            c = classify(line)
            if c:
                _add(findings, path, f"line {i}", c)
    return findings


def scan_sqlite(path: Path) -> list[Finding]:
    findings: list[Finding] = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
            for c in cols:
                counts: dict[str, int] = {}
                for (v,) in con.execute(f'SELECT "{c}" FROM "{t}" WHERE "{c}" IS NOT NULL'):
                    if isinstance(v, bytes):
                        v = v.decode("utf-8", errors="replace")
                    elif isinstance(v, int):
                        v = str(v)
                    elif not isinstance(v, str):
                        continue
                    for k, n in classify(v).items():
                        counts[k] = counts.get(k, 0) + n
                _add(findings, path, f"table {t}.{c}", counts)
    finally:
        con.close()
    return findings


def scan_file(path: Path) -> list[Finding]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return scan_parquet(path)
    if suffix in SQLITE_SUFFIXES:
        return scan_sqlite(path)
    if suffix in TEXT_SUFFIXES or suffix == "":
        return scan_text(path)
    return []


def _iter_files(paths, exclude: tuple[str, ...]):
    for p in paths:
        p = Path(p)
        if p.is_file():
            yield p
        elif p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if f.is_file() and not any(part in exclude for part in rel):
                    yield f


def scan_paths(paths, exclude: tuple[str, ...] = ("restricted",)) -> list[Finding]:
    """Scan files and folders (recursively; folders named in ``exclude`` are skipped)."""
    findings: list[Finding] = []
    for f in _iter_files(paths, exclude):
        try:
            findings.extend(scan_file(f))
        except Exception as exc:  # noqa: BLE001 - an unreadable file is reported as a finding
            findings.append(Finding(str(f), f"unreadable: {type(exc).__name__}", "error", 1))
    return findings


# The open parts of a data dir: published open tables, reports, findings, ledger, logs and
# the Dagster home. bronze/, quarantine/, warehouse/ and marts/*/restricted/ are the
# restricted zone; landing is input.
OPEN_PARTS = ("marts", "reports", "issues", "ledger", "dagster_home", "logs")


def scan_data_dir(data_dir: Path, extra: list[Path] | None = None) -> list[Finding]:
    data_dir = Path(data_dir)
    paths = [data_dir / p for p in OPEN_PARTS if (data_dir / p).exists()]
    paths += [f for f in data_dir.glob("*.log")]
    return scan_paths(paths + list(extra or []),
                      exclude=("restricted", "duckdb_extensions"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m pipelines.quality.scan <data_dir> [more paths...]")
        return 2
    findings = scan_data_dir(Path(argv[0]), [Path(a) for a in argv[1:]])
    for f in findings:
        print(f"FOUND {f}")
    print(f"{len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
