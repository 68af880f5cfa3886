"""Dates as news archives write them: ISO, Arabic and English month names, day-first numbers, Unix times.

:func:`parse_date` returns a :class:`datetime.date` or ``None`` with the reason;
it never guesses. Accepted, after Arabic-Indic digits are mapped to ASCII:

* ISO 8601 (``2015-07-21``, ``2015-07-21 02:51:32``, ``2015-07-21T02:51:32Z``),
  also ``2015/07/21`` and an ISO date inside longer text;
* day-first numeric dates, the Arabic and European usage (``21/07/2015``,
  ``21-7-2015``, ``21.07.2015``);
* a day, a month name and a four-digit year, in Arabic — Egyptian/Gulf
  (يوليو), Levantine/Iraqi (تموز) and Maghrebi (جويلية) names, also both at
  once (``12 تموز/يوليو 2015``) — or in English (``21 July 2015``,
  ``July 21, 2015``); weekday names, ``م`` after the year and a Hijri date
  next to the Gregorian one are ignored;
* Unix times: 9–10 digits (seconds) or 12–13 digits (milliseconds), as numbers
  or strings, and date/datetime values (Parquet).

Years outside 1800–2200 are refused (a Hijri ``1436/10/05`` is not read as a
Gregorian date), as are a month name without a year, two-digit years and
impossible dates (``31/02/2015``).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

from stance.text.normalize import NormalizationConfig, Normalizer

__all__ = ["NO_DATE", "UNPARSEABLE", "parse_date", "period_key"]

NO_DATE = "no date"
UNPARSEABLE = "unparseable date"
_MIN_YEAR, _MAX_YEAR = 1800, 2200

_NORMALIZE = Normalizer(
    NormalizationConfig(
        normalize_alef=True,
        normalize_ya=True,
        normalize_ta_marbuta=True,
        normalize_digits=True,
        replace_urls=False,
        replace_mentions=False,
    )
)

_MONTHS_RAW = {
    1: ["يناير", "كانون الثاني", "جانفي", "january", "jan"],
    2: ["فبراير", "شباط", "فيفري", "february", "feb"],
    3: ["مارس", "آذار", "march", "mar"],
    4: ["أبريل", "إبريل", "نيسان", "أفريل", "april", "apr"],
    5: ["مايو", "أيار", "ماي", "may"],
    6: ["يونيو", "يونيه", "حزيران", "جوان", "june", "jun"],
    7: ["يوليو", "يوليه", "تموز", "جويلية", "july", "jul"],
    8: ["أغسطس", "آب", "أوت", "august", "aug"],
    9: ["سبتمبر", "أيلول", "september", "sep", "sept"],
    10: ["أكتوبر", "تشرين الأول", "october", "oct"],
    11: ["نوفمبر", "تشرين الثاني", "november", "nov"],
    12: ["ديسمبر", "كانون الأول", "december", "dec"],
}
_MONTHS = {_NORMALIZE(name).lower(): month for month, names in _MONTHS_RAW.items() for name in names}
_MONTH_ALT = "|".join(re.escape(m) for m in sorted(_MONTHS, key=len, reverse=True))
# A month name stands alone: not inside another word (مارس in ممارسه, ماي in مايو is handled by length order).
_MONTH = rf"(?<![\w])(?P<{{g}}>{_MONTH_ALT})(?![\w])"
_SEP = r"[\s,،.\-]*"
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}}){_SEP}"
    + _MONTH.format(g="m1")
    + r"(?:\s*[/\\\-(]\s*"
    + _MONTH.format(g="m2")
    + r"\s*\)?)?"
    + rf"{_SEP}(?P<year>\d{{4}})(?!\d)"
)
_MONTH_DAY_YEAR = re.compile(_MONTH.format(g="m1") + rf"\s+(?P<day>\d{{1,2}}){_SEP}(?P<year>\d{{4}})(?!\d)")
_ISO = re.compile(r"(?<!\d)(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})(?!\d)")
_DMY = re.compile(r"(?<!\d)(?P<day>\d{1,2})[-/.](?P<month>\d{1,2})[-/.](?P<year>\d{4})(?!\d)")
_UNIX = re.compile(r"^\d{9,10}(?:\.\d+)?$|^\d{12,13}$")


def _checked(year: int, month: int, day: int) -> date | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _from_unix(value: float) -> date | None:
    if 1e11 <= value < 1e14:
        value /= 1000.0
    if not 1e8 <= value < 1e11:
        return None
    try:
        return _checked(*datetime.fromtimestamp(value, tz=UTC).timetuple()[:3])
    except (OverflowError, OSError, ValueError):
        return None


def parse_date(value) -> tuple[date | None, str]:
    """``(date, "")``, or ``(None, NO_DATE)`` for an empty value, or ``(None, UNPARSEABLE)``."""
    if value is None:
        return None, NO_DATE
    if isinstance(value, datetime):
        return value.date(), ""
    if isinstance(value, date):
        return value, ""
    if isinstance(value, bool):
        return None, UNPARSEABLE
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return None, NO_DATE
        found = _from_unix(float(value))
        return (found, "") if found else (None, UNPARSEABLE)
    text = _NORMALIZE(str(value)).lower()
    if not text:
        return None, NO_DATE
    if _UNIX.match(text):
        found = _from_unix(float(text))
        return (found, "") if found else (None, UNPARSEABLE)
    for parser in (_iso, _day_month_year, _month_day_year, _dmy):
        found = parser(text)
        if found:
            return found, ""
    return None, UNPARSEABLE


def _iso(text: str) -> date | None:
    for m in _ISO.finditer(text):
        found = _checked(int(m["year"]), int(m["month"]), int(m["day"]))
        if found:
            return found
    return None


def _dmy(text: str) -> date | None:
    for m in _DMY.finditer(text):
        found = _checked(int(m["year"]), int(m["month"]), int(m["day"]))
        if found:
            return found
    return None


def _day_month_year(text: str) -> date | None:
    for m in _DAY_MONTH_YEAR.finditer(text):
        months = {_MONTHS[m["m1"]]} | ({_MONTHS[m["m2"]]} if m["m2"] else set())
        if len(months) != 1:  # "12 تموز/أغسطس": two different months is not a date
            continue
        found = _checked(int(m["year"]), months.pop(), int(m["day"]))
        if found:
            return found
    return None


def _month_day_year(text: str) -> date | None:
    for m in _MONTH_DAY_YEAR.finditer(text):
        found = _checked(int(m["year"]), _MONTHS[m["m1"]], int(m["day"]))
        if found:
            return found
    return None


def period_key(day: date, period: str) -> str:
    """``2015-07-21`` (day), ``2015-W30`` (ISO week) or ``2015-07`` (month)."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    raise ValueError(f"unknown period {period!r}")
