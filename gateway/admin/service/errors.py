"""What the service layer refuses, and why; each entry point says it its own way (the admin API
as JSON with an HTTP status, the console beside the form's field, the CLI as one line).

    ServiceError
     ├── NotFound            no such object, or one the actor may not see (never told apart)
     ├── Forbidden           the actor sees the object but may not change it (a viewer)
     ├── Unauthenticated     no valid session or token; a wrong password
     ├── Invalid             the change is refused by the models: problems by field
     ├── Conflict            the object exists, or changed since it was read
     ├── TooManyAttempts     logins refused for a while (`retry_after_s`)
     └── Unavailable         stored, but Kafka did not take the snapshot
"""

from collections.abc import Mapping, Sequence


class ServiceError(Exception):
    """The message is for people: it names the object and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class Unauthenticated(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class Unavailable(ServiceError):
    pass


class TooManyAttempts(ServiceError):
    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Invalid(ServiceError):
    """`fields`: problems by the field's dotted path (`tiers.0.multiplier`), as forms name their
    inputs; `general`: those that name no field."""

    def __init__(self, fields: Mapping[str, Sequence[str]], general: Sequence[str] = ()) -> None:
        self.fields = {name: list(problems) for name, problems in fields.items()}
        self.general = list(general)
        lines = [f"{name}: {p}" for name, problems in self.fields.items() for p in problems]
        super().__init__("; ".join([*self.general, *lines]) or "invalid")

    @classmethod
    def field(cls, name: str, problem: str) -> "Invalid":
        return cls({name: [problem]})
