"""The engine's errors.

    EngineError
     ├── StateDecodeError     stored user state bytes that are not a UserState
     └── InvariantError       a check that must never fail did (a bug, not bad input)

Bad events are not errors: they become `invalid_event` decisions. Bad configuration is rejected
by `schemas.programme` when it is saved, so the engine never sees it.
"""


class EngineError(Exception):
    """Root of the engine's exceptions."""


class StateDecodeError(EngineError):
    """The bytes given to `UserState.from_bytes` do not hold a user state."""


class InvariantError(EngineError):
    """An internal invariant failed; raised explicitly because `assert` vanishes under -O."""
