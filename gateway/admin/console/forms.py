"""A form as a page shows it: the values (as submitted, or as stored), the problems beside
their fields, and those that belong to no field shown at the top."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from gateway.admin.service.errors import Invalid
from gateway.admin.service.fields import claim, flatten, unflatten


@dataclass
class Form:
    values: dict[str, str] = field(default_factory=dict)
    chosen: dict[str, list[str]] = field(default_factory=dict)
    """Checkbox groups: the values checked, by the group's name."""
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, data: Any, groups: Sequence[str] = ()) -> "Form":
        """A form showing stored data (a model's `model_dump(mode="json")`)."""
        chosen = {name: [str(v) for v in data.get(name) or ()] for name in groups}
        plain = {k: v for k, v in data.items() if k not in groups}
        return cls(values=flatten(plain), chosen=chosen)

    @classmethod
    def submitted(cls, form: FormData, groups: Sequence[str] = ()) -> "Form":
        values = {
            name: value
            for name, value in form.multi_items()
            if isinstance(value, str) and name not in groups
        }
        chosen = {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in groups}
        return cls(values=values, chosen=chosen)

    def data(self) -> dict[str, Any]:
        """What the model validates: the values nested by their dotted names."""
        tree = unflatten(self.values.items())
        return tree | {name: list(values) for name, values in self.chosen.items()}

    def refused(self, invalid: Invalid, shown: Collection[str] | None = None) -> "Form":
        """The form again with the problems: beside the fields it shows (all of them when
        `shown` is None), the rest at the top."""
        names = invalid.fields.keys() if shown is None else shown
        errors, general = claim(invalid, names)
        return Form(self.values, self.chosen, errors, general)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str, option: str) -> bool:
        return option in self.chosen.get(name, [])

    def rows(self, name: str, spare: int = 0) -> list[int]:
        """The indexes of a list's rows (`tiers.0.name`, ...) and `spare` blank ones more."""
        prefix = f"{name}."
        indexes = {
            int(key[len(prefix) :].split(".")[0])
            for key, value in self.values.items()
            if key.startswith(prefix)
            and key[len(prefix) :].split(".")[0].isdigit()
            and (value.strip() or key in self.errors)
        }
        last = max(indexes, default=-1)
        return [*sorted(indexes), *range(last + 1, last + 1 + spare)]


def expected_version(form: FormData) -> int | None:
    """The version of the programme the form was shown with (a hidden input)."""
    value = form.get("expected_version")
    return int(value) if isinstance(value, str) and value.isdigit() else None
