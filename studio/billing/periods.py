"""Quota periods: monthly, starting on a team's reset day (1-28, so every month has it)."""

from __future__ import annotations

import datetime as dt


def period_start(today: dt.date, reset_day: int) -> dt.date:
    if today.day >= reset_day:
        return today.replace(day=reset_day)
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return dt.date(year, month, reset_day)


def day_or_today(text: str, today: dt.date) -> dt.date:
    """A day given as YYYY-MM-DD (in a URL), else today."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return today


def next_period(start: dt.date) -> dt.date:
    year, month = (start.year, start.month + 1) if start.month < 12 else (start.year + 1, 1)
    return dt.date(year, month, start.day)
