"""Strict RFC 3339 timestamps and ISO 8601 durations.

Attestations carry times as RFC 3339 strings (the in-toto ``Timestamp``
field type), and layouts express freshness windows as ISO 8601 durations.
Both are parsed strictly: anything outside the grammar is an error, never
a guess. Years and months are refused in durations because their length
varies (is ``P1M`` 28 or 31 days?); a policy must say what it means in days.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from .._errors import UsageError, ValidationError, excerpt

__all__ = ["format_duration", "format_rfc3339", "parse_duration", "parse_rfc3339"]

# RFC 3339 section 5.6 ``date-time``. Digits are ASCII only ([0-9], not \d,
# which also matches other scripts' digits). "T" and "Z" may be lowercase
# (section 5.6, NOTE). Field ranges are checked after matching.
_DATE_TIME: Final = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_hour>[0-9]{2}):(?P<off_minute>[0-9]{2}))"
)

_NUMBER: Final = r"[0-9]+(?:[.,][0-9]+)?"
# ISO 8601 durations without years and months: PnW alone, or PnDTnHnMnS
# with any components omitted (but at least one present, and at least one
# after a "T").
_DURATION: Final = re.compile(
    rf"P(?:(?P<weeks>{_NUMBER})W"
    rf"|(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?)"
)
_DURATION_UNITS: Final = (
    ("weeks", 7 * 86_400_000_000),
    ("days", 86_400_000_000),
    ("hours", 3_600_000_000),
    ("minutes", 60_000_000),
    ("seconds", 1_000_000),
)
_MAX_DURATION_CHARS: Final = 64


def parse_rfc3339(text: object) -> datetime:
    """Parse an RFC 3339 ``date-time`` into an aware UTC datetime.

    Accepts a ``Z`` or numeric offset (``-00:00`` is read as UTC), lowercase
    ``t``/``z``, and any number of fractional-second digits; digits beyond
    microseconds are truncated (Python's resolution).

    Args:
        text: The timestamp, e.g. ``"2024-06-12T07:24:34.351608Z"``.

    Returns:
        The instant, with ``tzinfo=datetime.UTC``.

    Raises:
        ValidationError: ``text`` is not a string, does not follow the RFC 3339
            grammar (no offset, a space instead of ``T``, a date only...), has a
            field out of range (month 13, 30 February, hour 24, minute 60), is
            a leap second (``:60``, which Python cannot represent), or falls
            outside the years 1 to 9999 once converted to UTC.
    """
    if not isinstance(text, str):
        raise ValidationError(f"timestamp must be a string, got {type(text).__name__}")
    m = _DATE_TIME.fullmatch(text)
    if m is None:
        raise ValidationError(
            f"not an RFC 3339 timestamp: {excerpt(text)} (want e.g. 2024-01-31T12:00:00Z, with an offset)"
        )
    second = int(m["second"])
    if second == 60:
        raise ValidationError(f"leap seconds are not supported: {excerpt(text)}")
    if m["utc"] is not None:
        offset = timedelta(0)
    else:
        off_hour, off_minute = int(m["off_hour"]), int(m["off_minute"])
        if off_hour > 23 or off_minute > 59:
            raise ValidationError(f"timestamp has an invalid UTC offset: {excerpt(text)}")
        offset = timedelta(hours=off_hour, minutes=off_minute)
        if m["sign"] == "-":
            offset = -offset
    micro = int((m["fraction"] or "").ljust(6, "0")[:6])
    try:
        local = datetime(
            int(m["year"]),
            int(m["month"]),
            int(m["day"]),
            int(m["hour"]),
            int(m["minute"]),
            second,
            micro,
            tzinfo=timezone(offset),
        )
    except ValueError as exc:
        raise ValidationError(f"timestamp {excerpt(text)} is out of range: {exc}") from None
    try:
        return local.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"timestamp {excerpt(text)} is out of range in UTC") from None


def format_rfc3339(moment: datetime) -> str:
    """Render an aware datetime as RFC 3339 in UTC, e.g. ``2024-01-31T12:00:00.5Z``.

    Fractional seconds are written only when non-zero, without trailing zeros.

    Raises:
        UsageError: ``moment`` is naive (has no timezone).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UsageError("cannot format a naive datetime as RFC 3339: give it a timezone")
    utc = moment.astimezone(UTC)
    out = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        out += f".{utc.microsecond:06d}".rstrip("0")
    return out + "Z"


def parse_duration(text: object) -> timedelta:
    """Parse an ISO 8601 duration made of weeks, days, hours, minutes, seconds.

    Examples: ``P7D``, ``PT12H``, ``P1DT2H30M``, ``PT0.5S``, ``P2W``. The last
    component may carry a decimal fraction (``.`` or ``,``). Designators are
    uppercase, as in ISO 8601.

    Args:
        text: The duration.

    Returns:
        A non-negative timedelta.

    Raises:
        ValidationError: ``text`` is not a string, uses years or months
            (ambiguous lengths), is negative, lowercase or otherwise outside the
            grammar (``P``, ``PT``, ``P1DT``, ``PT1H1H``...), has a fraction on a
            component other than the last, is finer than a microsecond, or is
            too large for a timedelta.
    """
    if not isinstance(text, str):
        raise ValidationError(f"duration must be a string, got {type(text).__name__}")
    if len(text) > _MAX_DURATION_CHARS:
        raise ValidationError(f"duration is longer than {_MAX_DURATION_CHARS} characters")
    m = _DURATION.fullmatch(text)
    if m is None:
        raise ValidationError(_duration_problem(text))
    present = [(name, unit, m[name]) for name, unit in _DURATION_UNITS if m[name] is not None]
    if not present:
        raise ValidationError(
            f"duration {excerpt(text)} has no components (want e.g. P7D or PT12H)"
        )
    if text.endswith("T"):
        raise ValidationError(f"duration {excerpt(text)} has a T but no hours, minutes or seconds")
    from decimal import Decimal  # noqa: PLC0415 - only durations need it; costly to import

    total = Decimal(0)
    for index, (name, unit, value) in enumerate(present):
        number = Decimal(value.replace(",", "."))
        if number != number.to_integral_value() and index != len(present) - 1:
            raise ValidationError(
                f"duration {excerpt(text)}: only the last component may have a fraction ({name})"
            )
        total += number * unit
    if total != total.to_integral_value():
        raise ValidationError(f"duration {excerpt(text)} is finer than a microsecond")
    try:
        return timedelta(microseconds=int(total))
    except OverflowError:
        raise ValidationError(f"duration {excerpt(text)} is too large") from None


def _duration_problem(text: str) -> str:
    # Say why a duration failed, for the mistakes people actually make.
    if text.startswith("-"):
        return f"duration {excerpt(text)} is negative"
    if text[:1] == "p" or (text.startswith("P") and text != text.upper()):
        return f"duration {excerpt(text)} must use uppercase designators (P, W, D, T, H, M, S)"
    if text.startswith("P"):
        date_part = text[1:].split("T", 1)[0]
        if "Y" in date_part or "M" in date_part:
            return (
                f"duration {excerpt(text)} uses years or months, whose length varies;"
                " write it in days or weeks instead (e.g. P30D, P4W)"
            )
    return f"not an ISO 8601 duration: {excerpt(text)} (want e.g. P7D, PT12H, P1DT2H30M)"


def format_duration(value: timedelta) -> str:
    """Render a non-negative timedelta as an ISO 8601 duration (``P1DT2H30M``).

    The inverse of :func:`parse_duration`: ``parse_duration(format_duration(d)) == d``.

    Raises:
        UsageError: ``value`` is negative.
    """
    if value < timedelta(0):
        raise UsageError("cannot format a negative duration")
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P"
    if value.days:
        out += f"{value.days}D"
    clock = ""
    if hours:
        clock += f"{hours}H"
    if minutes:
        clock += f"{minutes}M"
    if seconds or value.microseconds:
        sec = str(seconds)
        if value.microseconds:
            sec += f".{value.microseconds:06d}".rstrip("0")
        clock += f"{sec}S"
    if clock:
        out += "T" + clock
    return out if out != "P" else "PT0S"
