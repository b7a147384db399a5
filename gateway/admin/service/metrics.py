"""Changes made through this process, by kind (the audit log's action): the console's panel on
the dashboard. Every kind is exported at 0 from the start, so the first change shows as one."""

from prometheus_client import Counter

CHANGES = Counter(
    "loyalty_admin_changes_total", "Audited changes made through the admin side", ["kind"]
)
