"""Unit tests of the entity-resolution SQL macros (dbt_project/macros/people), run through
`dbt show --inline` against an empty warehouse: Chinese numerals (cn2an semantics), building
suffixes, address parsing, lookup keys, name comparison (pinyin, one-character typos) and the
one-edit rule for identity numbers. Values are invented (no real names or numbers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = ROOT / "dbt_project"


def dbt_show(data_dir: Path, sql: str) -> list[dict]:
    env = {**os.environ, "ONEGRID_DATA_DIR": str(data_dir),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "ONEGRID_DBT_PROJECT_DIR": str(DBT_DIR)}
    cli = [str(Path(sys.executable).parent / "dbt"), "show", "--inline", sql, "--limit", "200",
           "--output", "json", "--log-format", "json", "--project-dir", str(DBT_DIR),
           "--profiles-dir", str(DBT_DIR), "--target-path", str(data_dir / "dbt_target"),
           "--log-path", str(data_dir / "dbt_logs")]
    (data_dir / "warehouse").mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(cli, cwd=DBT_DIR, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        preview = msg.get("data", {}).get("preview")
        if preview:
            return json.loads(preview)
    raise AssertionError("no preview in dbt show output")


NUMERALS = {
    "三栋": "3栋", "十二栋": "12栋", "二十幢": "20幢", "九十九号楼": "99号楼", "一百零五号": "105号",
    "五零二室": "502室", "两千零一十号": "2010号", "盛世小区一期一栋": "盛世小区一期1栋",
    "十里铺三单元": "十里铺3单元", "阳光花园7栋": "阳光花园7栋", "千禧苑二栋": "千禧苑2栋",
}

PARTS = {
    # text (prefix-free, numerals converted, 栋 unified) → (core, building, unit, room)
    "湖南路352号昌南华庭一期2栋1单元1602": ("湖南路352号昌南华庭一期", "2", "1", "1602"),
    "湖南路352号昌南华庭一期1栋701室": ("湖南路352号昌南华庭一期", "1", "", "701"),
    "环城路395号恒大新村12栋2单元1102室": ("环城路395号恒大新村", "12", "2", "1102"),
    "浙江省宁波市鄞州区滨江大道13号": ("", "", "", ""),
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    data = tmp_path_factory.mktemp("macros")
    num_vals = ", ".join(f"('{k}', '{v}')" for k, v in NUMERALS.items())
    part_vals = ", ".join(f"('{k}', '{a}', '{b}', '{c}', '{d}')" for k, (a, b, c, d) in PARTS.items())
    sql = f"""
with n(t, expected) as (values {num_vals}),
p(t, core, b, u, r) as (values {part_vals}),
ids(a, b, expected) as (values
    ('11010119900101123X', '11010119900101143X', true),   -- one digit
    ('11010119900101123X', '11010119900101213X', true),   -- adjacent transposition
    ('11010119900101123X', '11010119900101321X', false),  -- two digits
    ('11010119900101123X', '11010119900101123X', false)), -- same number: not 'one edit'
names(a, b, pa, pb, compatible, one_char) as (values
    ('张伟', '张玮', [['zhang'], ['wei']], [['zhang'], ['wei']], true, true),
    ('单明', '善明', [['chan', 'dan', 'shan'], ['ming']], [['shan'], ['ming']], true, false),
    ('张伟', '张强', [['zhang'], ['wei']], [['zhang'], ['qiang']], false, true),
    ('张伟', '李伟', [['zhang'], ['wei']], [['li'], ['wei']], false, false),
    ('王一诺', '王一若', [['wang'], ['yi'], ['nuo']], [['wang'], ['yi'], ['re', 'ruo']], false, true),
    ('张伟', '张伟明', [['zhang'], ['wei']], [['zhang'], ['wei'], ['ming']], false, false))
select 'num' as kind, t as input,
       {{{{ onegrid.cn_numerals_to_arabic('t') }}}} as got, expected as want, null as extra from n
union all
select 'suffix', t, {{{{ onegrid.unify_building_suffix("'3号楼2单元'") }}}}, '3栋2单元', null from n where t = '三栋'
union all
select 'parts', t,
       (x.p).core || '#' || (x.p).building || '#' || (x.p).unit || '#' || (x.p).room,
       core || '#' || b || '#' || u || '#' || r, null
from (select *, {{{{ onegrid.address_parts('t') }}}} as p from p) x
union all
select 'id', a || '/' || b, cast({{{{ onegrid.id_one_edit_apart('a', 'b') }}}} as varchar), cast(expected as varchar), null from ids
union all
select 'name', a || '/' || b, cast({{{{ onegrid.names_compatible('a', 'b', 'pa', 'pb') }}}} as varchar),
       cast(compatible as varchar), null from names
union all
select 'one_char', a || '/' || b, cast({{{{ onegrid.names_one_char_apart('a', 'b') }}}} as varchar),
       cast(one_char as varchar), null from names
union all
select 'lookup', t, {{{{ onegrid.address_lookup_key('t', "['兴义市']", "['黄草街道']") }}}}, want, null
from (values ('兴义市黄草街道湖南路352号昌南华庭三栋', 'B|湖南路352号昌南华庭|3'),
             ('湖南路352号昌南华庭附近', 'C|湖南路352号昌南华庭'),
             ('昌南华庭2号楼旁', 'N|昌南华庭|2')) v(t, want)
"""
    return dbt_show(data, sql)


def _check(rows, kind):
    sel = [r for r in rows if r["kind"] == kind]
    assert sel, kind
    bad = [(r["input"], r["got"], r["want"]) for r in sel if r["got"] != r["want"]]
    assert not bad, bad


def test_chinese_numerals(rows):
    _check(rows, "num")


def test_building_suffix(rows):
    _check(rows, "suffix")


def test_address_parts(rows):
    _check(rows, "parts")


def test_id_one_edit(rows):
    _check(rows, "id")


def test_names_pinyin_compatible(rows):
    _check(rows, "name")


def test_names_one_char_apart(rows):
    _check(rows, "one_char")


def test_address_lookup_key(rows):
    _check(rows, "lookup")


def test_numerals_match_cn2an():
    """The SQL rules agree with cn2an on the numbers addresses use."""
    import cn2an

    for text, want in NUMERALS.items():
        if text in ("盛世小区一期一栋", "十里铺三单元", "千禧苑二栋", "阳光花园7栋"):
            continue
        num = text.rstrip("栋幢号楼单元室")
        assert str(cn2an.cn2an(num, "smart")) == "".join(ch for ch in want if ch.isdigit())
