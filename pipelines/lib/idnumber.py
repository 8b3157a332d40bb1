"""Citizen identity numbers (公民身份号码, GB 11643-1999).

18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence (odd male, even
female) and a check character; legacy 15-digit numbers lack the century and the check.

``normalise_columns`` is vectorised (polars) for millions of rows: it strips spaces and hyphens,
upper-cases ``x``, upgrades 15-digit numbers (19YY + check character), verifies the check
character and the embedded birth date, and never guesses a broken number. It works in stages
so that no sub-expression is evaluated twice, and picks the check character with an integer →
character ``replace_strict`` (a list literal per row cost ≈ 110 µs a row). ``normalise`` is the
same rules for one value, written independently, used as the reference in tests.

Status values (``id_status``):
    valid       18 digits as delivered, check character and birth date right
    repaired    right after a lossless repair: lower-case x, spaces/hyphens, 15 → 18 digits
    bad_check   18 characters whose check character is wrong (number unusable)
    bad_date    check character right but the embedded birth date impossible
    malformed   neither an 18- nor a 15-digit shape
    empty       nothing delivered
"""

from __future__ import annotations

import datetime as _dt
import re

import polars as pl

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
USABLE_STATUSES = ("valid", "repaired")


def check_char(first17: str) -> str:
    """The check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need 17 digits")
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def is_valid(number: str) -> bool:
    """Scalar check of a normalised 18-character number (shape, check char, birth date)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    if check_char(number[:17]) != number[17]:
        return False
    try:
        born = _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return _dt.date(1900, 1, 1) <= born <= _dt.date.today()


def upgrade15(number: str) -> str:
    """Legacy 15-digit number → 18 digits (century 19, check character appended)."""
    body = number[:6] + "19" + number[6:]
    return body + check_char(body)


_CHECK_MAP = dict(enumerate(CHECK_CHARS))
MIN_BIRTH = _dt.date(1900, 1, 1)


def normalise(raw: str | None, today: _dt.date | None = None) -> tuple[str | None, str]:
    """(id_number, id_status) of one delivered value (NFKC-folded already)."""
    today = today or _dt.date.today()
    if raw is None or not re.sub(r"[\s\-]", "", raw):
        return None, "empty"
    cleaned = re.sub(r"[\s\-]", "", raw).upper()
    if re.fullmatch(r"[0-9]{17}[0-9X]", cleaned):
        body, given = cleaned[:17], cleaned[17]
    elif re.fullmatch(r"[0-9]{15}", cleaned):
        body, given = cleaned[:6] + "19" + cleaned[6:], None
    else:
        return None, "malformed"
    expected = check_char(body)
    if given is not None and given != expected:
        return None, "bad_check"
    number = body + expected
    try:
        born = _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None, "bad_date"
    if not MIN_BIRTH <= born <= today:
        return None, "bad_date"
    return number, ("repaired" if given is None or cleaned != raw else "valid")


def _check_char_expr(first17: pl.Expr) -> pl.Expr:
    total = pl.lit(0, dtype=pl.Int32)
    for i, w in enumerate(WEIGHTS):
        total = total + first17.str.slice(i, 1).cast(pl.Int32, strict=False) * w
    return (total % 11).replace_strict(_CHECK_MAP, default=None, return_dtype=pl.String)


def normalise_columns(df: pl.DataFrame, col: str, prefix: str = "id_",
                      today: _dt.date | None = None) -> pl.DataFrame:
    """Add ``<prefix>number`` and ``<prefix>status`` for the raw numbers in ``col``."""
    today = today or _dt.date.today()
    raw = pl.col(col)
    df = df.with_columns(raw.str.replace_all(r"[\s\-]", "").str.to_uppercase().alias("_c"))
    c = pl.col("_c")
    df = df.with_columns(c.str.contains(r"^[0-9]{17}[0-9X]$").alias("_is18"),
                         c.str.contains(r"^[0-9]{15}$").alias("_is15"))
    df = df.with_columns(
        pl.when(pl.col("_is18")).then(c.str.slice(0, 17))
        .when(pl.col("_is15")).then(c.str.slice(0, 6) + pl.lit("19") + c.str.slice(6, 9))
        .alias("_b17"))
    df = df.with_columns(_check_char_expr(pl.col("_b17")).alias("_exp"))
    df = df.with_columns((pl.col("_b17") + pl.col("_exp")).alias("_cand"))
    df = df.with_columns(
        pl.when(pl.col("_is18")).then(c.str.slice(17, 1) == pl.col("_exp"))
        .otherwise(pl.col("_is15")).alias("_ck"),
        pl.col("_cand").str.slice(6, 8).str.to_date("%Y%m%d", strict=False).alias("_birth"))
    birth = pl.col("_birth")
    date_ok = birth.is_not_null() & (birth >= MIN_BIRTH) & (birth <= today)
    status = (
        pl.when(raw.is_null() | (c.fill_null("") == "")).then(pl.lit("empty"))
        .when(~(pl.col("_is18") | pl.col("_is15"))).then(pl.lit("malformed"))
        .when(~pl.col("_ck")).then(pl.lit("bad_check"))
        .when(~date_ok).then(pl.lit("bad_date"))
        .when(pl.col("_is15") | (c != raw)).then(pl.lit("repaired"))
        .otherwise(pl.lit("valid"))
    )
    df = df.with_columns(status.alias(prefix + "status"))
    df = df.with_columns(pl.when(pl.col(prefix + "status").is_in(USABLE_STATUSES))
                         .then(pl.col("_cand")).alias(prefix + "number"))
    return df.drop("_c", "_is18", "_is15", "_b17", "_exp", "_cand", "_ck", "_birth")
