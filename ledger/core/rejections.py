"""A refusal the planner returns instead of raising: rejecting a command is a normal outcome."""

from dataclasses import dataclass

from schemas.ledger import RejectionReason


@dataclass(frozen=True, slots=True)
class Rejection:
    code: RejectionReason
    message: str

    @classmethod
    def invalid(cls, message: str) -> "Rejection":
        return cls(RejectionReason.INVALID_TRANSACTION, message)
