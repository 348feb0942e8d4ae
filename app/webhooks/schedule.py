"""When a failed webhook delivery is tried again: the backoff schedule and Retry-After.

Attempts after the first come 5 s, 30 s, 5 min and 30 min after the one before, then hourly,
until 24 h after the first attempt; past that the delivery has expired. A receiver's
`Retry-After` (seconds or an HTTP date) postpones the next attempt, never brings it forward,
and is bounded by RETRY_AFTER_MAX_S. All times are seconds (epoch seconds for instants).
"""
from __future__ import annotations

import email.utils
from dataclasses import dataclass

#: Seconds between consecutive attempts: after the 1st, 2nd, 3rd, 4th; then EVERY_S.
DELAYS_S = (5.0, 30.0, 300.0, 1800.0)
EVERY_S = 3600.0
#: Seconds after the first attempt past which a delivery is not tried again.
HORIZON_S = 24 * 3600.0
#: The longest wait a Retry-After header can ask for (seconds); longer values are cut to it.
RETRY_AFTER_MAX_S = 3600.0


def parse_retry_after(value: str | None, *, now_s: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), bounded to
    [0, RETRY_AFTER_MAX_S]; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT; a date without a zone is read as such
            return None
        seconds = when.timestamp() - now_s
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


@dataclass(frozen=True)
class Backoff:
    """The retry schedule; `scale` multiplies every delay and the horizon (tests shrink it)."""

    scale: float = 1.0

    def delay_s(self, attempts: int) -> float:
        """Seconds from the `attempts`-th attempt (1 = the first) to the next one."""
        index = max(attempts, 1) - 1
        base = DELAYS_S[index] if index < len(DELAYS_S) else EVERY_S
        return base * self.scale

    def next_attempt_s(self, *, attempts: int, first_s: float, last_s: float,
                       retry_after_s: float | None = None) -> float | None:
        """Epoch seconds of the next attempt after `attempts` failed ones (the first at
        `first_s`, the latest at `last_s`), or None when that falls past the horizon."""
        wait_s = self.delay_s(attempts)
        if retry_after_s is not None:
            wait_s = max(wait_s, retry_after_s)
        due_s = last_s + wait_s
        if due_s > first_s + HORIZON_S * self.scale:
            return None
        return due_s
