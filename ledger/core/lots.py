"""Lots: a user's points grouped by the local day they expire on.

A lot is `(expires_on, points)`: the ISO date of the programme's local midnight at which its
points expire (None: never), and how many of them are still open. An account's lots are ordered
by that date, the never-expiring lot last; no two share a date (points earned on different days
that expire on the same one are one lot: nothing tells them apart), and each holds more than 0.
Their sum is the account's available balance (`max(balance, 0)`: a negative balance is a debt
that later credits repay before they form lots).

`None` stands for "every open point of the account never expires" (`max(balance, 0)` of them in
one lot), the state of every account of a programme without expiry, and of every account from
before lots were kept: such accounts store nothing and cost the writer nothing. A movement
(what an entry took from or gave to an account's lots, journalled on the entry) is `None` in
the same sense: the account held only never-expiring points, and the entry moved only those.

Every debit takes the earliest-expiring lots first; a credit's points form a lot of their own
date (a transfer's carry the dates of the lots they were taken from).
"""

from typing import Final

import orjson

Lot = tuple[str | None, int]
Lots = tuple[Lot, ...]

NOTHING: Final[Lots] = ()


def materialized(lots: Lots | None, balance: int) -> Lots:
    """The lots themselves, the shorthand spelt out."""
    if lots is not None:
        return lots
    return ((None, balance),) if balance > 0 else NOTHING


def canonical(lots: Lots) -> Lots | None:
    """The shorthand where it applies: no lot, or only the never-expiring one."""
    if not lots or (len(lots) == 1 and lots[0][0] is None):
        return None
    return lots


def total(lots: Lots | None, balance: int) -> int:
    if lots is None:
        return balance if balance > 0 else 0
    points = 0
    for lot in lots:
        points += lot[1]
    return points


def next_due(lots: Lots | None) -> str | None:
    """The earliest date a lot expires on; None when nothing of the account expires."""
    if not lots:
        return None
    return lots[0][0]


def _before(left: str | None, right: str | None) -> bool:
    """`left` expires strictly before `right` (never-expiring lots come last)."""
    if left is None:
        return False
    return right is None or left < right


def merged(lots: Lots, incoming: Lots) -> Lots:
    """Both sets of lots as one, a date's points added up."""
    if not incoming:
        return lots
    if not lots:
        return incoming
    if len(incoming) == 1:  # a credit: almost always the latest date, or already held
        day, points = incoming[0]
        last_day, last_points = lots[-1]
        if last_day == day:
            return (*lots[:-1], (day, last_points + points))
        if _before(last_day, day):
            return (*lots, incoming[0])
    out: list[Lot] = []
    i = j = 0
    while i < len(lots) and j < len(incoming):
        left, right = lots[i], incoming[j]
        if left[0] == right[0]:
            out.append((left[0], left[1] + right[1]))
            i += 1
            j += 1
        elif _before(left[0], right[0]):
            out.append(left)
            i += 1
        else:
            out.append(right)
            j += 1
    out.extend(lots[i:])
    out.extend(incoming[j:])
    return tuple(out)


def _without_debt(incoming: Lots, debt: int) -> Lots:
    """What is left of `incoming` once `debt` is repaid, earliest-expiring points first."""
    if debt <= 0:
        return incoming
    out: list[Lot] = []
    for day, points in incoming:
        if debt >= points:
            debt -= points
            continue
        out.append((day, points - debt))
        debt = 0
    return tuple(out)


def credited(
    lots: Lots | None, balance_before: int, points: int, incoming: Lots | None
) -> tuple[Lots | None, Lots | None]:
    """(lots after, the lots formed) when `points` come in with `incoming` (None: all of them
    never expire). A debt (a negative balance) is repaid first, from the earliest-expiring."""
    if lots is None and incoming is None and balance_before >= 0:
        return None, None
    debt = -balance_before if balance_before < 0 else 0
    formed = _without_debt(((None, points),) if incoming is None else incoming, debt)
    after = merged(materialized(lots, balance_before), formed)
    return canonical(after), formed


def taken(lots: Lots, points: int) -> tuple[Lots, Lots]:
    """(lots left, lots taken) when `points` are taken earliest-expiring first; takes at most
    what the lots hold."""
    out: list[Lot] = []
    index = 0
    count = len(lots)
    while points > 0 and index < count:
        day, held = lots[index]
        if held <= points:
            out.append((day, held))
            points -= held
            index += 1
        else:
            out.append((day, points))
            return ((day, held - points), *lots[index + 1 :]), tuple(out)
    return lots[index:], tuple(out)


def debited(lots: Lots | None, balance_before: int, points: int) -> tuple[Lots | None, Lots | None]:
    """(lots after, the lots taken) when `points` leave the account. Only what the lots hold is
    taken: the rest, if any, is a debt (a balance below zero, where the policy allows one)."""
    if lots is None:
        return None, None
    left, out = taken(lots, points)
    return canonical(left), out


def debited_preferring(
    lots: Lots | None, balance_before: int, points: int, preferred: Lots | None
) -> tuple[Lots | None, Lots | None]:
    """`debited`, taking first from the dates of `preferred` (up to its points on each: a
    return takes back from its award's own lots), then earliest-expiring first. A preferred
    lot already spent or expired is simply not there any more: the rest comes from the others."""
    if lots is None:
        return None, None
    if not preferred:
        return debited(lots, balance_before, points)
    held = dict(lots)
    first: list[Lot] = []
    for day, wanted in preferred:
        take = min(wanted, held.get(day, 0), points)
        if take > 0:
            first.append((day, take))
            held[day] -= take
            points -= take
    left, rest = taken(tuple((day, held[day]) for day, _ in lots if held[day] > 0), points)
    return canonical(left), merged(tuple(first), rest)


def expired(lots: Lots | None, day: str) -> tuple[Lots | None, Lots]:
    """(lots after, lots expired): every lot dated `day` or earlier."""
    if lots is None:
        return None, NOTHING
    index = 0
    count = len(lots)
    while index < count:
        due = lots[index][0]
        if due is None or due > day:
            break
        index += 1
    if index == 0:
        return lots, NOTHING
    return canonical(lots[index:]), lots[:index]


def encode(lots: Lots | None) -> str | None:
    """The json text an account or an entry stores: `[["2026-04-01", 30], [null, 12]]`."""
    if lots is None:
        return None
    # orjson writes tuples as arrays: no list of lists built first (a third of encoding).
    return orjson.dumps(lots).decode()


def decode(text: str | None) -> Lots | None:
    if text is None:
        return None
    single = _one_lot(text)
    if single is not None:
        return single
    value = orjson.loads(text)
    # One loop over plain lists, no generators: decoding runs for every account a batch locks.
    # Typed as lists, not Sequences: the compiled module then checks each lot with a plain
    # list check rather than an abstract-class isinstance.
    if not isinstance(value, list):
        raise ValueError(f"malformed lots: {value!r}"[:200])
    out: list[Lot] = []
    for lot in value:
        if not isinstance(lot, list) or len(lot) != 2:
            raise ValueError(f"malformed lots: {value!r}"[:200])
        out.append((_day(lot[0]), _points(lot[1])))
    return tuple(out)


def _one_lot(text: str) -> Lots | None:
    """The lots of a text of one dated lot exactly as `encode` writes it (`[["2027-01-04",30]]`,
    what most accounts hold), read without a JSON parse; None for any other text. The writer
    decodes the lots of every account a batch locks, and orjson's tree of lists cost most of it."""
    size = len(text)
    if size < 18 or size > 40 or not text.startswith('[["') or not text.endswith("]]"):
        return None
    if text[13:15] != '",':
        return None
    day = text[3:13]
    digits = text[15 : size - 2]
    if '"' in day or "\\" in day or not (digits.isascii() and digits.isdigit()):
        return None
    if digits[0] == "0" and len(digits) > 1:  # not JSON: let orjson refuse it
        return None
    return ((day, int(digits)),)


def _points(value: object) -> int:
    if type(value) is int:
        return value
    raise ValueError(f"malformed lot points: {value!r}")


def _day(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"malformed lot date: {value!r}")


def problems(lots: Lots | None, balance: int) -> list[str]:
    """How stored lots break the rules above (empty when they keep them)."""
    if lots is None:
        return []
    found: list[str] = []
    held = total(lots, balance)
    if held != (balance if balance > 0 else 0):
        found.append(f"lots hold {held} points, the available balance is {max(balance, 0)}")
    for index, (day, points) in enumerate(lots):
        if points <= 0:
            found.append(f"lot {day or 'never'} holds {points} points")
        if index and not _before(lots[index - 1][0], day):
            found.append(f"lot {day or 'never'} is out of order")
    if canonical(lots) is None:
        found.append("lots stored where none expire (the account stores nothing then)")
    return found
