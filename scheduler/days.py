"""Which local days a programme's commands are due for, and what each day's commands are.
Pure: `now` and every day come in as arguments."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.ledger import LifecycleAction, LifecycleCommand
from schemas.ledger import day_start as midnight


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def days_to_emit(last_day: date, through: date, days_max: int) -> list[date]:
    """The days after `last_day` up to `through`, oldest first, at most `days_max` of them (the
    rest on a later round): a scheduler back after a long stop catches up in order."""
    days: list[date] = []
    day = last_day + timedelta(days=1)
    while day <= through and len(days) < days_max:
        days.append(day)
        day += timedelta(days=1)
    return days


def command_id(action: LifecycleAction, programme_id: str, day: date) -> str:
    prefix = {LifecycleAction.EXPIRE_POINTS: "expire", LifecycleAction.RELEASE_POINTS: "release"}[
        action
    ]
    return f"{prefix}:{programme_id}:{day.isoformat()}"


def commands_for(programme_id: str, day: date, zone: ZoneInfo) -> list[LifecycleCommand]:
    """The day's commands, in the order the ledger runs them: pending points whose window ends
    that day are released before the day's expiry (released points expire from their release,
    so none of them is due yet either way; the order only keeps each day's work the same)."""
    return [
        LifecycleCommand(
            command_id=command_id(action, programme_id, day),
            programme_id=programme_id,
            action=action,
            local_day=day,
            effective_at=midnight(day, zone),
        )
        for action in (LifecycleAction.RELEASE_POINTS, LifecycleAction.EXPIRE_POINTS)
    ]
