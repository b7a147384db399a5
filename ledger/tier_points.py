"""The points a user earned from the programme's rules since an instant, as the journal holds
them: what a tier's progress is shown with (`gateway.tier_standing`).

The processors decide tiers from their own state (`processors/engine/tiering.py`: each decision's
earned points, by the local month of its event), which nothing outside them reads. The journal
holds the same awards: an earning decision books one `Programme Points` credit per rule, with
the rule and the event's time as its lineage, to the user's account or, held back, to the
programme's pending account (a pending award counts at once, as it does for the processors). A
return does not take progress back there, nor here. Where the two may differ: an award the
ledger refused (a budget ran out) still counts for the processors, and is not in the journal.
"""

from datetime import datetime

from ledger.db_types import Executor
from schemas.ledger import Variety

_EARNED = f"""e.variety = '{Variety.PROGRAMME_POINTS.value}' AND e.transaction_type = 'Credit'
    AND e.rule_id IS NOT NULL AND ($3::timestamptz IS NULL OR e.occurred_at >= $3)"""

# Each side on its own index: the user's account (entries_credit_account), the user's pending
# awards (entries_pending_awards).
_EARNED_SQL = f"""
    SELECT (SELECT coalesce(sum(e.points), 0) FROM ledger.entries e
            WHERE e.credit_account_id = (SELECT account_id FROM ledger.accounts
                                         WHERE programme_id = $1 AND kind = 'user'
                                           AND owner_id = $2)
              AND {_EARNED})
         + (SELECT coalesce(sum(e.points), 0) FROM ledger.entries e
            WHERE e.pending IS NOT NULL AND e.programme_id = $1 AND e.user_id = $2
              AND {_EARNED})
"""


async def points_earned(
    db: Executor, programme_id: str, user_id: str, since: datetime | None
) -> int:
    """Points the user earned from rules in events at or after `since` (None: ever)."""
    found = await db.fetchval(_EARNED_SQL, programme_id, user_id, since)
    return int(found or 0)
