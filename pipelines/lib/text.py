"""Vectorised text normalisation (polars) for bronze.

Everything here works on whole columns: NFKC folding (full-width → half-width), whitespace
trimmed and collapsed (and dropped between two Han characters), minority-name dots unified to
``·``, Traditional → Simplified Chinese with OpenCC ``t2s`` applied once to the *unique* values
of a column (joined into one string, converted in one call, split back), the contract's date
and timestamp formats, and gender codes.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache

import polars as pl

HAN = r"\p{Han}"
# dots people type between the parts of an ethnic-minority name (after NFKC: ． → .)
_DOTS = r"[·•．.・･‧∙⋅]"
_SEP = "\n"  # OpenCC never maps across a newline, so it is a safe separator


@lru_cache(maxsize=1)
def _converter():
    import opencc

    try:
        return opencc.OpenCC("t2s")
    except Exception:  # older bindings want the file name
        return opencc.OpenCC("t2s.json")


def t2s_values(values: list[str]) -> list[str]:
    """Traditional → Simplified for a list of strings, in one OpenCC call."""
    if not values:
        return []
    joined = _SEP.join(v.replace(_SEP, " ") for v in values)
    out = _converter().convert(joined).split(_SEP)
    if len(out) != len(values):  # cannot happen with t2s, but never misalign rows
        conv = _converter().convert
        return [conv(v) for v in values]
    return out


def basic_expr(col: pl.Expr) -> pl.Expr:
    """NFKC, whitespace trimmed/collapsed, no spaces between Han characters, '' → null."""
    e = col.str.normalize("NFKC").str.replace_all(r"\s+", " ").str.strip_chars()
    # twice, because a match consumes the right-hand character ("张 三 丰")
    for _ in range(2):
        e = e.str.replace_all(rf"({HAN}) ({HAN})", "${1}${2}")
    return pl.when(e == "").then(None).otherwise(e)


def name_dots_expr(col: pl.Expr) -> pl.Expr:
    """Dots between Han characters (阿依古丽•买买提, 阿依古丽.买买提) → ``·``."""
    e = col
    for _ in range(2):
        e = e.str.replace_all(rf"({HAN}) ?{_DOTS} ?({HAN})", "${1}·${2}")
    return e


def code_expr(col: pl.Expr) -> pl.Expr:
    """Codes and identifiers: NFKC and every whitespace removed; '' → null. Leading zeros stay."""
    e = col.str.normalize("NFKC").str.replace_all(r"\s+", "")
    return pl.when(e == "").then(None).otherwise(e)


@lru_cache(maxsize=1)
def traditional_class() -> str:
    """A regex character class of every character OpenCC t2s changes on its own (computed
    once from OpenCC itself: the CJK blocks converted in one call)."""
    ranges = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)]
    chars = [chr(c) for a, b in ranges for c in range(a, b + 1)]
    conv = t2s_values(chars)
    changed = sorted({c for c, t in zip(chars, conv) if c != t})
    return "[" + "".join(changed) + "]" if changed else "[^\\s\\S]"


def t2s_column(s: pl.Series) -> pl.Series:
    """Traditional → Simplified, converting only the distinct values that hold a character
    t2s would change (one OpenCC call for all of them)."""
    if s.len() == 0 or s.null_count() == s.len():
        return s
    mask = s.str.contains(traditional_class()).fill_null(False)
    if not mask.any():
        return s
    uniq = s.filter(mask).unique()
    conv = pl.Series(t2s_values(uniq.to_list()), dtype=pl.String)
    changed = uniq != conv
    if not changed.any():
        return s
    idx = mask.arg_true()
    sub = s.filter(mask).replace(uniq.filter(changed), conv.filter(changed))
    return s.scatter(idx, sub)


# Values made only of printable ASCII (no space) and basic CJK ideographs (U+4E00–U+9FFF) are
# already NFKC-stable with nothing to trim or collapse: only the other values are worked on.
_NEEDS_WORK = r"[^\x21-\x7e\x{4e00}-\x{9fff}]"
_NAME_NEEDS_WORK = _NEEDS_WORK + r"|\."


def _apply_where_needed(s: pl.Series, expr_fn, pattern: str) -> pl.Series:
    """Apply ``expr_fn`` only to the values matching ``pattern`` (or empty); others stay."""
    mask = (s.str.contains(pattern) | (s == "")).fill_null(False)
    if not mask.any():
        return s
    idx = mask.arg_true()
    sub = s.filter(mask).to_frame("v").select(expr_fn(pl.col("v")).alias("v"))["v"]
    return s.scatter(idx, sub)


def normalise_series(s: pl.Series, kind: str = "text") -> pl.Series:
    """``kind``: ``text`` (free text), ``name`` (text + minority-name dots) or ``code``."""
    if s.dtype != pl.String or s.len() == 0:
        return s
    if kind == "code":
        return _apply_where_needed(s, code_expr, _NEEDS_WORK)
    if kind == "name":
        return _apply_where_needed(s, lambda e: name_dots_expr(basic_expr(e)), _NAME_NEEDS_WORK)
    return _apply_where_needed(s, basic_expr, _NEEDS_WORK)


def normalise_frame(df: pl.DataFrame, text: list[str], names: list[str] = (),
                    codes: list[str] = (), t2s: bool = True) -> pl.DataFrame:
    """Normalise ``text`` columns (free text), ``names`` (text + dots) and ``codes`` in place."""
    cols = []
    for kind, group in (("text", text), ("name", names), ("code", codes)):
        cols += [normalise_series(df.get_column(c), kind).alias(c) for c in group
                 if c in df.columns]
    if cols:
        df = df.with_columns(cols)
    if t2s:
        tc = [c for c in [*text, *names] if c in df.columns]
        if tc:
            df = df.with_columns([t2s_column(df.get_column(c)).alias(c) for c in tc])
    return df


def on_unique(s: pl.Series, expr_fn, dtype) -> pl.Series:
    """Evaluate ``expr_fn`` once per distinct value (dates, timestamps) and map back."""
    u = s.drop_nulls().unique()
    if u.len() == 0:
        return pl.Series(s.name, [None] * s.len(), dtype=dtype)
    out = u.to_frame("v").select(expr_fn(pl.col("v")).alias("o"))["o"]
    return s.replace_strict(u, out, default=None, return_dtype=dtype).alias(s.name)


# --- dates -------------------------------------------------------------------------------
_DATE_RE = r"^(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*[-/.月]?\s*(\d{1,2})\s*日?$"


def date_expr(col: pl.Expr) -> pl.Expr:
    """YYYYMMDD, YYYY-MM-DD, YYYY/M/D, YYYY年M月D日 (also YYYY.M.D) → Date; else null.

    ``col`` should be NFKC-folded text. A date with a time part keeps the date.
    """
    s = col.str.strip_chars().str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "")
    parts = s.str.extract_groups(_DATE_RE)
    y = parts.struct.field("1")
    m = parts.struct.field("2").str.zfill(2)
    d = parts.struct.field("3").str.zfill(2)
    return (y + "-" + m + "-" + d).str.to_date("%Y-%m-%d", strict=False)


_TS_RE = (r"^(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?"
          r"(?:\.\d+)?)?$")


def timestamp_expr(col: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD HH:MM:SS`` local time (also ``T``, ``/``, no seconds) → naive Datetime."""
    parts = col.str.strip_chars().str.extract_groups(_TS_RE)
    f = parts.struct.field
    s = (f("1") + "-" + f("2").str.zfill(2) + "-" + f("3").str.zfill(2) + " "
         + f("4").fill_null("0").str.zfill(2) + ":" + f("5").fill_null("00") + ":"
         + f("6").fill_null("00"))
    return s.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")


def gender_expr(col: pl.Expr) -> pl.Expr:
    """GB/T 2261.1 codes 1/2 and 男/女 (also 男性/女性) → 男/女; anything else → null."""
    e = col.str.strip_chars()
    return (
        pl.when(e.is_in(["1", "男", "男性", "M", "m"])).then(pl.lit("男"))
        .when(e.is_in(["2", "女", "女性", "F", "f"])).then(pl.lit("女"))
        .otherwise(None)
    )


def number_expr(col: pl.Expr) -> pl.Expr:
    """Text (NFKC-folded, maybe with thousands separators) → Float64, else null."""
    return col.str.replace_all(r"[,\s]", "").cast(pl.Float64, strict=False)


MIN_DATE = _dt.date(1900, 1, 1)
