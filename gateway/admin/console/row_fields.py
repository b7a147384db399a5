"""Pure: the inputs of a form for a row of a pydantic model (a MyRewards group, question,
promotion, data field or product), read from the model's own fields, so the form asks for
exactly what the file model validates, with its descriptions as hints."""

from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

LABELS = {
    "id": "Id", "parent_id": "Parent group id", "default": "Default group",
    "field_type": "Field type", "field_name": "Field name", "free_text": "Accepts free text",
    "points_per_unit": "Points per unit", "promotion_id": "Promotion id",
    "product_or_activity": "SKU (product or activity)",
}  # fmt: skip
MULTILINE = frozenset({"options", "answers"})


@dataclass(frozen=True, slots=True)
class RowField:
    name: str
    label: str
    kind: Literal["number", "text", "multiline", "flag", "choice"]
    hint: str
    optional: bool
    """Left empty, the model's default (or none) applies."""
    choices: tuple[str, ...] = ()


def row_fields(model: type[BaseModel]) -> list[RowField]:
    return [_field(name, info.annotation, info.description or "", not info.is_required())
            for name, info in model.model_fields.items()]  # fmt: skip


def _field(name: str, annotation: Any, hint: str, has_default: bool) -> RowField:
    label = LABELS.get(name, name.replace("_", " ").capitalize())
    base, optional = _unwrapped(annotation)
    optional = optional or has_default
    if get_origin(base) is Literal:
        choices = tuple(str(c) for c in get_args(base))
        return RowField(name, label, "choice", hint, optional, choices)
    if base is bool:
        return RowField(name, label, "flag", hint, optional)
    if base is int:
        return RowField(name, label, "number", hint, optional)
    kind: Literal["text", "multiline"] = "multiline" if name in MULTILINE else "text"
    return RowField(name, label, kind, hint, optional)


def _unwrapped(annotation: Any) -> tuple[Any, bool]:
    """The type without `| None` and `Annotated[...]`, and whether None was allowed."""
    optional = False
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not NoneType]
        optional = len(members) < len(get_args(annotation))
        annotation = members[0] if len(members) == 1 else annotation
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation, optional


def row_data(fields: list[RowField], values: dict[str, str]) -> dict[str, Any]:
    """A submitted form's values as the model takes them: an empty optional input is left out
    (its default), flags are true or false."""
    data: dict[str, Any] = {}
    for field in fields:
        value = values.get(field.name, "")
        if field.kind == "flag":
            data[field.name] = value == "true"
        elif value.strip() == "" and field.optional:
            continue
        else:
            data[field.name] = value
    return data


def form_values(row: BaseModel) -> dict[str, str]:
    """A stored row as the form shows it."""
    shown: dict[str, str] = {}
    for name, value in row.model_dump(mode="json").items():
        if isinstance(value, bool):
            shown[name] = "true" if value else "false"
        else:
            shown[name] = "" if value is None else str(value)
    return shown


def default_values(model: type[BaseModel]) -> dict[str, str]:
    """A new row's form: each field's default, as the form shows it (a box ticked for true)."""
    shown: dict[str, str] = {}
    for name, info in model.model_fields.items():
        if info.is_required() or info.default is None:
            continue
        value = info.default
        shown[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return shown
