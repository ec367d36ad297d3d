"""Calendar periods behind the activity chart and the theme trends: weeks start on Monday, months and years roll
over at the year's end, and the periods between the first and the last day are all there, empty ones too."""
from datetime import date, datetime, timedelta, timezone

import pytest

from app.clock import naive_utc
from app.periods import next_period, period_start, period_starts


def test_a_day_falls_in_its_monday_week_its_month_and_its_year():
    sunday = date(2026, 3, 1)
    assert period_start(sunday, "day") == sunday
    assert period_start(sunday, "week") == date(2026, 2, 23)
    assert period_start(date(2026, 3, 31), "month") == date(2026, 3, 1)
    assert period_start(date(2026, 12, 31), "year") == date(2026, 1, 1)


def test_the_next_period_rolls_over_the_months_and_the_year():
    assert next_period(date(2026, 1, 1), "month") == date(2026, 2, 1)
    assert next_period(date(2026, 12, 1), "month") == date(2027, 1, 1)
    assert next_period(date(2026, 1, 1), "year") == date(2027, 1, 1)
    assert next_period(date(2026, 12, 28), "week") == date(2027, 1, 4)
    assert next_period(date(2026, 12, 31), "day") == date(2027, 1, 1)


def test_every_period_from_the_first_day_to_the_last_is_listed():
    assert period_starts(date(2026, 11, 15), date(2027, 2, 1), "month") == [
        date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]
    assert period_starts(date(2026, 3, 4), date(2026, 3, 16), "week") == [
        date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    assert period_starts(date(2026, 3, 4), date(2026, 3, 4), "day") == [date(2026, 3, 4)]


def test_a_time_counts_on_its_utc_day_whichever_zone_it_came_in():
    # Theme trends and the analysis store bucket comments through naive_utc: a comment posted at half past midnight
    # in Auckland (UTC+13 in December) counts on the UTC day before, as it does for every other reader of the data.
    auckland = timezone(timedelta(hours=13))
    assert naive_utc(datetime(2026, 12, 8, 0, 30, tzinfo=auckland)) == datetime(2026, 12, 7, 11, 30)
    assert naive_utc(datetime(2026, 12, 8, 0, 30)) == datetime(2026, 12, 8, 0, 30)  # naive (SQLite): UTC already
    assert naive_utc(date(2026, 12, 8)) == datetime(2026, 12, 8)
    assert naive_utc(None) is None
    with pytest.raises(TypeError, match="got str"):
        naive_utc("2026-12-08")
