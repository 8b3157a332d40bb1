"""Pinyin readings (拼音, toneless) of every character used in person names.

One row per distinct character of the names in household persons and party members: ``ch`` and ``readings`` (all toneless readings, heteronyms included, sorted). Names are
compared position by position: two characters are homophone-compatible when their readings
intersect, so a polyphonic surname such as 单 (dan/shan/chan) matches 善 (shan) and 单 (dan).
Only the distinct characters go through pypinyin (a few thousand), so the cost does not grow
with the population.
"""

import pyarrow as pa


def model(dbt, session):
    dbt.config(materialized="table")
    from pypinyin import Style, pinyin

    persons = dbt.ref("int_person_records_base")
    chars = set()
    for rel, col in ((persons, "name"),):
        q = rel.query("r", f"select distinct unnest(string_split({col}, '')) as ch from r where {col} is not null")
        chars.update(c for (c,) in q.fetchall() if c)
    out_ch, out_r = [], []
    for ch in sorted(chars):
        readings = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="default")
        rs = sorted({r.lower() for r in (readings[0] if readings else [ch]) if r})
        out_ch.append(ch)
        out_r.append(rs or [ch])
    return pa.table({"ch": pa.array(out_ch, pa.string()),
                     "readings": pa.array(out_r, pa.list_(pa.string()))})
