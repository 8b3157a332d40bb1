"""Build seeds/cn_workday_calendar.csv from the chinese-calendar package (2004-2026).

One row per day: date, is_workday, is_holiday (an official public holiday), holiday_name
(English name from chinese-calendar, empty otherwise), note (`调休` on a weekend that is an
adjusted working day, `休` on a weekday made a rest day by 调休, else empty).

chinese-calendar raises for years after 2026. Operators extend the CSV for 2027+ by hand from the
State Council's yearly notice (国务院办公厅关于…部分节假日安排的通知): append one row per day of
the new year with the same columns, mark holidays (is_workday=false, is_holiday=true,
holiday_name), 调休 working weekends (is_workday=true, note=调休), then `dbt seed`.
Dates missing from the seed are treated as Monday–Friday working days.

Run: uv run python dbt_project/scripts/build_calendar_seed.py
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import chinese_calendar as cc

OUT = Path(__file__).resolve().parent.parent / "seeds" / "cn_workday_calendar.csv"


def main(first: int = 2004, last: int = 2026) -> None:
    day, end = dt.date(first, 1, 1), dt.date(last, 12, 31)
    with open(OUT, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["date", "is_workday", "is_holiday", "holiday_name", "note"])
        while day <= end:
            workday = cc.is_workday(day)
            on_holiday, name = cc.get_holiday_detail(day)
            is_holiday = bool(on_holiday and name)
            weekend = day.weekday() >= 5
            note = "调休" if workday and weekend else ("休" if not workday and not weekend
                                                        and not is_holiday else "")
            w.writerow([day.isoformat(), str(workday).lower(), str(is_holiday).lower(),
                        name or "", note])
            day += dt.timedelta(days=1)


if __name__ == "__main__":
    main()
