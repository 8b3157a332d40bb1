"""Reviewer reports: self-contained (no CDN, no script, no remote asset), counts only, every
failure linked to its quality_issues rows, nothing identifying in clear; rendered with its
styles in headless Chromium (screenshot pixels and computed styles)."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from pipelines import config
from pipelines.quality.engine import run_checks
from pipelines.quality.scan import scan_paths
from pipelines.quality.testing import build_sample_bronze, build_sample_warehouse, synthetic_id

HEADER_RGB = (20, 54, 93)  # header { background:#14365d }


@pytest.fixture
def reports(onegrid_env):
    build_sample_warehouse(config.warehouse_path(), broken=True)
    build_sample_bronze(lost=1)
    run_checks(run_id="report-test")
    return config.reports_dir()


def test_reports_are_self_contained_and_link_failures(reports):
    pages = sorted(reports.rglob("*.html"))
    assert (reports / "index.html") in pages and len(pages) > 20
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<style>" in text
        for banned in ("http://", "https://", "<script", "<link", "src=", "@import", "url("):
            assert banned not in text.lower(), (page.name, banned)
        for href in re.findall(r'href="([^"]+)"', text):  # every link resolves locally
            assert (page.parent / href).exists(), (page.name, href)
    suite = (reports / "suite-mart_dim_person.html").read_text(encoding="utf-8")
    assert "issues/mart_dim_person.id_number_unique.html" in suite
    rule_page = (reports / "issues" / "mart_dim_person.id_number_unique.html").read_text()
    assert "2 of 60 rows unexpected" in rule_page
    assert (reports / "issues" / "mart_dim_person.id_number_unique.csv").exists()
    acc = (reports / "issues" / "row_accounting.rows_accounted.html").read_text()
    assert "row_accounting.rows_accounted" in acc
    # ingestion findings from dbt's quality_issues have their own pages with record ids
    dup = (reports / "issues" / "duplicate_record_id.html").read_text(encoding="utf-8")
    assert "R9000000" in dup and "20261101" in dup
    results = json.loads((reports / "quality_results.json").read_text())
    assert results["run_id"] == "report-test"
    errors = {c["check"] for c in results["checks"] if c["severity"] == "error"}
    assert errors == {"mart_dim_person", "row_accounting"}


def test_reports_expose_no_one(reports):
    ids = [synthetic_id(i) for i in range(120)]
    for f in reports.rglob("*"):
        if f.is_file() and f.suffix in (".html", ".csv", ".json"):
            text = f.read_text(encoding="utf-8")
            leaks = sum(text.count(i) for i in ids) + text.count("张1")
            assert leaks == 0, f.name
    assert scan_paths([reports]) == []


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run_chromium(binary: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
           "--host-resolver-rules=MAP * ~NOTFOUND",  # any remote asset would fail to load
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into rows of raw pixels."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def test_report_renders_with_styles_in_headless_chromium(reports, tmp_path):
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    index = reports / "index.html"
    shot = tmp_path / "index.png"
    r = _run_chromium(binary, tmp_path, f"--screenshot={shot}", "--window-size=1200,900",
                      "--hide-scrollbars", index.as_uri())
    assert shot.exists() and shot.stat().st_size > 5000, r.stderr[-1500:]
    _, bpp, rows = _png_pixels(shot)
    px = rows[10][20 * bpp:20 * bpp + 3]
    assert tuple(px) == HEADER_RGB, f"header pixel {tuple(px)}: styles not applied"
    body_px = tuple(rows[880][1180 * bpp:1180 * bpp + 3])
    assert body_px != (255, 255, 255) or tuple(rows[300][5 * bpp:5 * bpp + 3]) != (255, 255, 255)

    # an unstyled render of the same page differs (the header pixel is white there)
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<style>.*?</style>", "", index.read_text(encoding="utf-8"),
                           flags=re.DOTALL), encoding="utf-8")
    shot2 = tmp_path / "bare.png"
    _run_chromium(binary, tmp_path, f"--screenshot={shot2}", "--window-size=1200,900",
                  bare.as_uri())
    _, bpp2, rows2 = _png_pixels(shot2)
    assert tuple(rows2[10][20 * bpp2:20 * bpp2 + 3]) != HEADER_RGB

    # computed styles, recorded by a probe script added to a copy of the page
    probe = tmp_path / "probe.html"
    probe.write_text(index.read_text(encoding="utf-8").replace(
        "</body>",
        "<script>var h=getComputedStyle(document.querySelector('header'));"
        "var b=getComputedStyle(document.querySelector('.badge'));"
        "var t=getComputedStyle(document.querySelector('th'));"
        "document.body.setAttribute('data-probe',[h.backgroundColor,b.borderRadius,"
        "t.fontWeight,getComputedStyle(document.body).backgroundColor].join('|'));</script>"
        "</body>"), encoding="utf-8")
    r = _run_chromium(binary, tmp_path, "--dump-dom", probe.as_uri())
    m = re.search(r'data-probe="([^"]+)"', r.stdout)
    assert m, r.stderr[-1500:]
    header_bg, radius, th_weight, body_bg = m.group(1).split("|")
    assert header_bg == "rgb(20, 54, 93)"
    assert radius == "10px" and th_weight == "600" and body_bg == "rgb(244, 246, 250)"
    if os.environ.get("ONEGRID_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["ONEGRID_KEEP_SCREENSHOT"])
