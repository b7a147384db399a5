"""The ledger's pure core: routing bookings to accounts, checking them, planning a batch.

Nothing here does I/O; the repository loads a snapshot, the planner decides, the repository writes.
"""
