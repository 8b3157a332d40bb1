"""Citizen identity numbers (公民身份号码, GB 11643-1999).

18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence (odd male, even
female) and a check character; legacy 15-digit numbers lack the century and the check.

``normalise_expr`` is vectorised (polars) for millions of rows: it strips spaces and hyphens,
upper-cases ``x``, upgrades 15-digit numbers (19YY + check character), verifies the check
character and the embedded birth date, and never guesses a broken number.

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


def _check_char_expr(first17: pl.Expr) -> pl.Expr:
    total = pl.lit(0, dtype=pl.Int32)
    for i, w in enumerate(WEIGHTS):
        total = total + first17.str.slice(i, 1).cast(pl.Int32, strict=False) * w
    return (
        pl.lit(list(CHECK_CHARS), dtype=pl.List(pl.String)).list.get(total % 11, null_on_oob=True)
    )


def normalise_expr(raw: pl.Expr, today: _dt.date | None = None) -> pl.Expr:
    """Struct expression with fields ``id_number`` (normalised, or null) and ``id_status``.

    ``raw`` should already be NFKC-folded (full-width digits become ASCII there).
    """
    today = today or _dt.date.today()
    cleaned = raw.str.replace_all(r"[\s\-]", "").str.to_uppercase()
    is18 = cleaned.str.contains(r"^\d{17}[\dX]$")
    is15 = cleaned.str.contains(r"^\d{15}$")
    body17 = (
        pl.when(is18)
        .then(cleaned.str.slice(0, 17))
        .when(is15)
        .then(cleaned.str.slice(0, 6) + pl.lit("19") + cleaned.str.slice(6, 9))
    )
    expected = _check_char_expr(body17)
    candidate = body17 + expected
    check_ok = pl.when(is18).then(cleaned.str.slice(17, 1) == expected).otherwise(is15)
    birth = candidate.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    date_ok = birth.is_not_null() & (birth >= _dt.date(1900, 1, 1)) & (birth <= today)
    repaired = is15 | (cleaned != raw)
    status = (
        pl.when(raw.is_null() | (cleaned.fill_null("") == ""))
        .then(pl.lit("empty"))
        .when(~(is18 | is15))
        .then(pl.lit("malformed"))
        .when(~check_ok)
        .then(pl.lit("bad_check"))
        .when(~date_ok)
        .then(pl.lit("bad_date"))
        .when(repaired)
        .then(pl.lit("repaired"))
        .otherwise(pl.lit("valid"))
    )
    number = pl.when(status.is_in(USABLE_STATUSES)).then(candidate)
    return pl.struct(number.alias("id_number"), status.alias("id_status"))
