"""Times as the platform's users read them: in Shanghai's zone (the platform serves Chinese supply chains),
always shown with the zone, since every time is stored in UTC."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TIME_ZONE = ZoneInfo("Asia/Shanghai")
ZONE_LABEL = "UTC+8"


def local_time(moment: datetime | None, *, with_date: bool = True) -> str:
    """'2026-12-07 11:05 UTC+8'; an empty string for no time."""
    if moment is None:
        return ""
    shown = moment.astimezone(TIME_ZONE)
    return f"{shown:%Y-%m-%d %H:%M} {ZONE_LABEL}" if with_date else f"{shown:%H:%M} {ZONE_LABEL}"
