"""`python -m bench.lots_core`: what keeping lots costs the ledger writer's own Python per booking,
without Kafka or Postgres, so that it can be measured on a busy machine.

One batch of `bench.ledger`'s commands (`--batch` of them, for 20,000 users) is planned over and
over, as the writer plans it once the accounts are locked: each user's stored lots decoded
(`ledger.core.lots.decode`, as `ledger.loading` does), `plan_batch`, then the rows it writes
(`batch_rows`: the accounts' lots encoded, the entries' lot movements journalled). Once for a
programme whose points expire (every user holds a lot; credits form lots, debits take them),
once for one whose points never expire, in turn, `--rounds` times each; the garbage collector
tuned as the writer's (`ledger.runtime.GC_THRESHOLDS`). The least CPU a round took (per booking)
is the figure: on a shared machine the other rounds only add other processes' interference.
Ends with `RESULT core_us_with_lots=N core_us_without=M difference_us=D`.
"""

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bench.ledger import commands
from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.batch import IncomingCommand, LedgerSnapshot
from ledger.core.expiry import expiry_policy
from ledger.core.lots import Lots, decode
from ledger.core.planner import needed_accounts, plan_batch
from ledger.core.rows import batch_rows
from ledger.runtime import GC_THRESHOLDS
from runtime.collector import tune_garbage_collector
from schemas.ledger import LedgerCommand
from schemas.programme import PointsExpiry

PROGRAMME = "bench"
RECORDED_AT = datetime(2026, 12, 5, tzinfo=UTC)
# Every user's stored lots: one lot of the date the batch's credits form theirs on (30 days after
# RECORDED_AT), as in `bench.lifecycle`'s bookings, where every credit is earned at the batch's
# time; the balance covers the debits.
STORED_LOTS = '[["2027-01-04",1000]]'
BALANCE = 1_000


def batch(size: int) -> list[IncomingCommand]:
    return [
        IncomingCommand.of(LedgerCommand.model_validate_json(value))
        for _, value in commands(PROGRAMME, size, users=20_000, seed=1)
    ]


def round_of(incoming: list[IncomingCommand], with_lots: bool) -> Callable[[], tuple[int, int]]:
    """One round's work for a programme with or without expiry; it returns the entries planned
    and how many of them journal a lot movement."""
    expiry = expiry_policy(PointsExpiry(policy="days_after_earning", days=30), "UTC")
    policies = {PROGRAMME: ProgrammePolicy(funded=False, expiry=expiry if with_lots else None)}
    keys = sorted(needed_accounts(incoming, policies))
    ids = {key: index for index, key in enumerate(keys, 1)}
    balances = {key: BALANCE if key.kind is AccountKind.USER else -(10**9) for key in keys}
    stored = {key: STORED_LOTS for key in keys if with_lots and key.kind is AccountKind.USER}
    entry_ids = list(range(1, 2 * len(incoming) + 1))

    def work() -> tuple[int, int]:
        lots: dict[AccountKey, Lots] = {}
        for key, text in stored.items():
            held = decode(text)
            if held is not None:
                lots[key] = held
        snapshot = LedgerSnapshot(policies, balances, {}, {}, {}, lots)
        plan = plan_batch(incoming, snapshot, RECORDED_AT)
        rows = batch_rows(plan, ids, {}, entry_ids[: len(plan.entries)], RECORDED_AT)
        moved = sum(1 for entry in plan.entries if entry.debit_lots or entry.credit_lots)
        return len(rows.entries), moved

    return work


def measure(size: int, rounds: int) -> tuple[float, float]:
    """(least µs per booking with lots, without), the two measured in turn."""
    incoming = batch(size)
    works = {True: round_of(incoming, True), False: round_of(incoming, False)}
    tune_garbage_collector(GC_THRESHOLDS)
    best = {True: float("inf"), False: float("inf")}
    for _ in range(rounds):
        for side, work in works.items():
            started = time.process_time()
            entries, _ = work()
            spent = time.process_time() - started
            best[side] = min(best[side], spent * 1e6 / entries)
    return best[True], best[False]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    if args.batch < 1 or args.rounds < 1:
        parser.error("--batch and --rounds must be at least 1")
    with_lots, without = measure(args.batch, args.rounds)
    print(f"the writer's core per booking: {with_lots:.2f} µs with lots, {without:.2f} µs without")
    print(
        f"RESULT core_us_with_lots={with_lots:.2f} core_us_without={without:.2f} "
        f"difference_us={with_lots - without:.2f}"
    )


if __name__ == "__main__":
    main()
