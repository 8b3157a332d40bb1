"""Self-contained reviewer reports under ``reports_dir()``.

``index.html`` (entry page of the latest run), ``suite-<name>.html`` per suite, and
``issues/<rule>.html`` + ``issues/<rule>.csv`` listing the ``quality_issues`` rows of each rule
(source, record id, delivery, rule, severity, detail). Inline CSS only: no script, no CDN, no
remote asset, so the pages render the same on a closed network. Only counts are shown for
expectations; every cell is HTML-escaped and any identity- or phone-like digit run is masked,
as a second line of defence behind the ingestion's "detail never holds an identifier" rule.
Also writes ``quality_results.json``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import fcntl
import html
import io
import json
import os
import re
from pathlib import Path

from pipelines import config

ISSUE_COLUMNS = ("source", "source_record_id", "delivery_id", "rule", "severity", "detail")
MAX_HTML_ROWS = 1000
_SENSITIVE = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15}|1[3-9]\d{9})(?![0-9A-Za-z])"
)

CSS = """
:root { --ok:#1b7f3b; --warn:#b26a00; --err:#b3261e; --ink:#1d2330; --muted:#5b6475; }
* { box-sizing: border-box; }
body { margin:0; font-family: "Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;
       background:#f4f6fa; color:var(--ink); font-size:14px; line-height:1.5; }
header { background:#14365d; color:#ffffff; padding:18px 28px; }
header h1 { margin:0; font-size:22px; font-weight:600; }
header p { margin:4px 0 0; color:#c9d6ea; }
main { padding:20px 28px 40px; max-width:1200px; }
section { background:#ffffff; border:1px solid #dde3ec; border-radius:8px; padding:16px 20px;
          margin-bottom:18px; }
h2 { font-size:17px; margin:0 0 10px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid #e6eaf0; vertical-align:top; }
th { background:#eef2f8; font-weight:600; }
td.num { text-align:right; font-variant-numeric: tabular-nums; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600;
         color:#ffffff; }
.b-ok { background:var(--ok); } .b-warning { background:var(--warn); } .b-error { background:var(--err); }
.b-critical { background:var(--err); } .b-info, .b-no { background:#5b6475; }
.tiles { display:flex; gap:14px; flex-wrap:wrap; }
.tile { flex:1 1 150px; background:#ffffff; border:1px solid #dde3ec; border-radius:8px; padding:12px 16px; }
.tile b { display:block; font-size:24px; }
.muted { color:var(--muted); }
a { color:#1a56a8; }
"""


def _mask(value) -> str:
    if value is None:
        return ""
    return _SENSITIVE.sub("＊masked＊", str(value))


def _e(value) -> str:
    return html.escape(_mask(value))


def slug(rule: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", rule)[:120] or "rule"


def _badge(sev: str) -> str:
    label = {"ok": "passed", "error": "error (blocking)", "critical": "critical",
             "warning": "warning"}.get(sev, sev)
    return f'<span class="badge b-{html.escape(sev)}">{html.escape(label)}</span>'


def _page(title: str, subtitle: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<main>{body}</main></body></html>\n"
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_quality_issues(extra: list[dict] | None = None) -> list[dict]:
    """Rows of the warehouse ``quality_issues`` (or, before dbt ran, the ingestion issues)."""
    rows: list[dict] = []
    wh = config.warehouse_path()
    loaded = False
    if wh.exists():
        try:
            import duckdb

            con = duckdb.connect(str(wh), read_only=True)
            con.execute("SET enable_progress_bar = false")
            try:
                cols = [r[0] for r in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name='marts' "
                    "AND table_name='quality_issues'").fetchall()]
                if cols:
                    sel = ", ".join(f'"{c}"' if c in cols else f"NULL AS {c}"
                                    for c in ISSUE_COLUMNS)
                    cur = con.execute(f"SELECT {sel} FROM marts.quality_issues")
                    rows = [dict(zip(ISSUE_COLUMNS, r)) for r in cur.fetchall()]
                    loaded = True
            finally:
                con.close()
        except Exception:  # noqa: BLE001 - fall back to the ingestion's issue files
            loaded = False
    if not loaded:
        files = list(config.issues_dir().glob("*/*.parquet")) if config.issues_dir().exists() else []
        if files:
            import polars as pl

            df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
            for c in ISSUE_COLUMNS:
                if c not in df.columns:
                    df = df.with_columns(pl.lit(None).alias(c))
            rows = df.select([pl.col(c).cast(pl.String) for c in ISSUE_COLUMNS]).to_dicts()
    return rows + list(extra or [])


def write_reports(run_id: str, quality: dict | None = None) -> Path:
    """(Re)write the reports of ``run_id`` from its saved check outcomes; returns index.html."""
    from pipelines.publish import quality_issue_rows
    from pipelines.quality.engine import load_run

    out = config.reports_dir()
    out.mkdir(parents=True, exist_ok=True)
    lock = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        quality = quality or load_run(run_id)
        return _write_all(out, run_id, quality, quality_issue_rows(quality))
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)


def _issues_signature() -> str:
    """Changes whenever the rows of quality_issues can have changed (warehouse or issues/)."""
    parts = []
    wh = config.warehouse_path()
    if wh.exists():
        st = wh.stat()
        parts.append(f"wh:{st.st_mtime_ns}:{st.st_size}")
    idir = config.issues_dir()
    if idir.exists():
        for f in sorted(idir.glob("*/*.parquet")):
            parts.append(f"{f.name}:{f.stat().st_mtime_ns}")
    return json.dumps(parts)


def _write_issue_pages(idir: Path, run_id: str, rows: list[dict]) -> dict[tuple, int]:
    """One HTML page (first MAX_HTML_ROWS rows) and one CSV per rule; counts per key."""
    by_rule: dict[str, list[dict]] = {}
    counts: dict[tuple, int] = {}
    for r in rows:
        by_rule.setdefault(str(r.get("rule")), []).append(r)
        k = (str(r.get("source")), str(r.get("rule")), str(r.get("severity")))
        counts[k] = counts.get(k, 0) + 1
    for rule, rrows in sorted(by_rule.items()):
        s = slug(rule)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(ISSUE_COLUMNS)
        for r in rrows:
            w.writerow([_mask(r.get(c)) for c in ISSUE_COLUMNS])
        _write(idir / f"{s}.csv", buf.getvalue())
        trs = "".join(
            "<tr>" + "".join(f"<td>{_e(r.get(c))}</td>" for c in ISSUE_COLUMNS) + "</tr>"
            for r in rrows[:MAX_HTML_ROWS]
        )
        more = (f"<p class=\"muted\">Showing {MAX_HTML_ROWS} of {len(rrows)} rows; all rows in "
                f"the CSV.</p>" if len(rrows) > MAX_HTML_ROWS else "")
        body = (
            f"<section><h2>{len(rrows)} row(s) in quality_issues with rule "
            f"<code>{_e(rule)}</code></h2><p><a href=\"../index.html\">← all checks</a> · "
            f"<a href=\"{html.escape(s)}.csv\">CSV export</a></p>{more}"
            "<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in ISSUE_COLUMNS)
            + f"</tr></thead><tbody>{trs}</tbody></table></section>"
        )
        _write(idir / f"{s}.html", _page(f"quality_issues · {rule}", f"run {run_id}", body))
    return counts


def _write_all(out: Path, run_id: str, quality: dict, extra: list[dict]) -> Path:
    checks = quality.get("checks", [])
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    # issue pages (one per rule) + CSV. The rows already in quality_issues (ingestion and
    # dbt findings) are rendered once per run and input state; each check only adds its rules.
    idir = out / "issues"
    idir.mkdir(exist_ok=True)
    marker = out / ".runs" / run_id / "_issue_pages.cache"
    sig = _issues_signature()
    cached = None
    if marker.exists():
        try:
            cached = json.loads(marker.read_text())
        except json.JSONDecodeError:
            cached = None
    if cached and cached.get("signature") == sig:
        base = {tuple(k): n for k, n in cached["counts"]}
    else:
        base = _write_issue_pages(idir, run_id, load_quality_issues())
        marker.parent.mkdir(parents=True, exist_ok=True)
        _write(marker, json.dumps({"signature": sig, "counts": [[list(k), n]
                                                                for k, n in base.items()]}))
    counts = dict(base)
    for k, n in _write_issue_pages(idir, run_id, extra).items():
        counts[k] = counts.get(k, 0) + n
    by_rule: dict[str, int] = {}
    for (_, rule, _), n in counts.items():
        by_rule[rule] = by_rule.get(rule, 0) + n
    written = {f"{slug(r)}.{ext}" for r in by_rule for ext in ("html", "csv")}
    for p in idir.iterdir():
        if p.is_file() and p.name not in written and not p.name.startswith("."):
            p.unlink()
    n_issues = sum(counts.values())

    def rule_links(exp: dict) -> str:
        links = []
        for r in [exp["rule"], *exp.get("issues_rules", [])]:
            if r in by_rule:
                links.append(f'<a href="issues/{html.escape(slug(r))}.html">{_e(r)} '
                             f"({by_rule[r]})</a>")
        return " · ".join(links) or '<span class="muted">—</span>'

    # suite pages
    suite_names = set()
    for c in checks:
        name = c["check"]
        suite_names.add(f"suite-{slug(name)}.html")
        rows = []
        for e in c.get("expectations", []):
            sev = e["severity"] if not e["success"] else "ok"
            pct = e.get("unexpected_percent")
            rows.append(
                "<tr>"
                f"<td>{_e(e['rule'].split('.', 1)[-1])}</td><td>{_e(e['description'])}</td>"
                f"<td>{_e(e.get('column') or '')}</td><td>{_e(e['type'])}</td>"
                f"<td>{_badge(e['severity'])}</td><td>{_badge(sev)}</td>"
                f"<td class=\"num\">{_e(e.get('element_count', ''))}</td>"
                f"<td class=\"num\">{_e(e.get('unexpected_count', ''))}</td>"
                f"<td class=\"num\">{'' if pct is None else f'{pct:.2f}%'}</td>"
                f"<td>{rule_links(e)}</td></tr>"
            )
        note = f"<p class=\"muted\">{_e(c['note'])}</p>" if c.get("note") else ""
        err = (f"<p><span class=\"badge b-error\">could not run</span> {_e(c['error'])}</p>"
               if c.get("error") else "")
        body = (
            f"<section><h2>{_e(c.get('description') or name)}</h2>"
            f"<p><a href=\"index.html\">← all checks</a> · asset "
            f"<code>{_e('/'.join(c.get('asset_key', [])))}</code> · "
            f"{'blocking' if c.get('blocking') else 'warning only'} · rows validated "
            f"{_e(c.get('rows'))}{' · delivery ' + _e(c['delivery_id']) if c.get('delivery_id') else ''}"
            f" · {c.get('seconds', 0):.2f} s · result {_badge(c.get('severity', 'ok'))}</p>"
            f"{note}{err}<table><thead><tr><th>rule</th><th>expectation</th><th>column</th>"
            "<th>GX type</th><th>severity</th><th>result</th><th>rows</th><th>unexpected</th>"
            f"<th>%</th><th>rows in quality_issues</th></tr></thead><tbody>{''.join(rows)}"
            "</tbody></table></section>"
        )
        _write(out / f"suite-{slug(name)}.html", _page(f"Suite {name}", f"run {run_id}", body))
    for p in out.glob("suite-*.html"):
        if p.name not in suite_names:
            p.unlink()

    # index
    n_err = sum(1 for c in checks if c.get("severity") == "error")
    n_warn = sum(1 for c in checks if c.get("severity") == "warning")
    n_ok = sum(1 for c in checks if c.get("passed"))
    tiles = (
        '<div class="tiles">'
        f'<div class="tile"><b>{len(checks)}</b>checks run</div>'
        f'<div class="tile"><b style="color:var(--ok)">{n_ok}</b>passed</div>'
        f'<div class="tile"><b style="color:var(--err)">{n_err}</b>failed (error)</div>'
        f'<div class="tile"><b style="color:var(--warn)">{n_warn}</b>warnings</div>'
        f'<div class="tile"><b>{n_issues}</b>rows in quality_issues</div></div>'
    )
    crow = []
    for c in sorted(checks, key=lambda c: ({"error": 0, "warning": 1}.get(c.get("severity"), 2),
                                          c["check"])):
        exps = c.get("expectations", [])
        failed = sum(1 for e in exps if not e["success"])
        crow.append(
            f"<tr><td><a href=\"suite-{html.escape(slug(c['check']))}.html\">{_e(c['check'])}</a>"
            f"</td><td>{_e('/'.join(c.get('asset_key', [])))}</td>"
            f"<td>{'blocking' if c.get('blocking') else 'warning'}</td>"
            f"<td>{_badge('no data' if (c.get('note') and not exps) else c.get('severity', 'ok'))}</td>"
            f"<td class=\"num\">{len(exps)}</td><td class=\"num\">{failed}</td>"
            f"<td class=\"num\">{_e(c.get('rows'))}</td>"
            f"<td class=\"num\">{c.get('seconds', 0):.2f}</td></tr>"
        )
    irow = "".join(
        f"<tr><td>{_e(s)}</td><td><a href=\"issues/{html.escape(slug(r))}.html\">{_e(r)}</a></td>"
        f"<td>{_badge(sev if sev in ('error', 'warning') else 'info')}</td>"
        f"<td class=\"num\">{n}</td><td><a href=\"issues/{html.escape(slug(r))}.csv\">CSV</a></td></tr>"
        for (s, r, sev), n in sorted(counts.items())
    )
    body = (
        f"<section><h2>Summary</h2>{tiles}</section>"
        "<section><h2>Checks (Great Expectations suites)</h2><table><thead><tr><th>suite</th>"
        "<th>asset</th><th>kind</th><th>result</th><th>expectations</th><th>failed</th>"
        f"<th>rows</th><th>seconds</th></tr></thead><tbody>{''.join(crow)}</tbody></table></section>"
        "<section><h2>quality_issues by rule</h2><p class=\"muted\">Every quarantined or flagged "
        "row, rejected delivery and failed rule. Record ids are source record ids; no "
        "identity number, name or phone is shown.</p><table><thead><tr><th>source</th>"
        f"<th>rule</th><th>severity</th><th>rows</th><th>export</th></tr></thead><tbody>{irow}"
        "</tbody></table></section>"
    )
    index = out / "index.html"
    _write(index, _page("onegrid quality report · 数据质量报告", f"run {run_id} · {now}", body))
    _write(out / "quality_results.json", json.dumps(
        {"run_id": run_id, "generated_at": now, "checks": checks,
         "quality_issues_by_rule": [{"source": s, "rule": r, "severity": sev, "rows": n}
                                    for (s, r, sev), n in sorted(counts.items())]},
        ensure_ascii=False, indent=1, default=str))
    return index
