"""Forms and validation problems, both named by a field's dotted path (`tiers.0.multiplier`,
`event_time.past_max_s`): the console's inputs carry these names, so a form's values become the
model's input with `unflatten`, and a model's problems land beside the input they concern with
`problems_by_field`. Pure."""

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from gateway.admin.service.errors import Invalid

# `rules[2] (welcome).conditions[0].operator: ...`, as the programme model's cross-field checks
# word their problems (schemas.programme): a path, a colon, the problem.
_SEGMENT = r"[a-z_][a-z0-9_]*(?:\[\d+\])?"
_PROBLEM = re.compile(
    rf"^(?P<path>{_SEGMENT}(?: \([^)]*\))?(?:\.{_SEGMENT})*): (?P<problem>.+)$", re.DOTALL
)
_INDEX = re.compile(r"\[(\d+)\]")
_LABEL = re.compile(r" \([^)]*\)")


def unflatten(pairs: Iterable[tuple[str, str]], multi: Sequence[str] = ()) -> dict[str, Any]:
    """Form fields to nested values: a digit segment is a list index (`tiers.0.name`), a name in
    `multi` collects every value given (checkboxes). Blank values are left out, so the model's
    default applies or its "field required" lands beside the input, and so are list rows left
    wholly blank (the spare rows a form offers)."""
    tree: dict[str, Any] = {}
    for name, value in pairs:
        if name in multi:
            tree.setdefault(name, []).append(value)
        elif value.strip() != "" and name not in ("csrf_token", "expected_version"):
            _put(tree, name.split("."), value.strip())
    return _lists(tree)  # type: ignore[no-any-return]


def _put(tree: dict[str, Any], path: list[str], value: str) -> None:
    node = tree
    for segment in path[:-1]:
        node = node.setdefault(segment, {})
        if not isinstance(node, dict):
            return  # a name that is both a value and a group: the value wins
    node.setdefault(path[-1], value)


def _lists(node: Any) -> Any:
    """Dicts keyed by digits become lists in index order."""
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


def problems_by_field(exc: ValidationError, prefix: Sequence[str | int] = ()) -> Invalid:
    """Every problem under its field's dotted path. Problems a model's cross-field check joined
    into one message (`a: ...; b: ...`) are split and placed by the path each names."""
    fields: dict[str, list[str]] = {}
    general: list[str] = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        location = [*prefix, *error["loc"]]
        if error["loc"]:
            fields.setdefault(dotted(location), []).append(message)
            continue
        for problem in message.split("; "):
            found = _PROBLEM.match(problem)
            if found is None:
                general.append(problem)
            else:
                path = _INDEX.sub(r".\1", _LABEL.sub("", found["path"]))
                name = ".".join(str(p) for p in (*prefix, path))
                fields.setdefault(name, []).append(found["problem"])
    return Invalid(fields, general)


def dotted(location: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in location)


def claim(invalid: Invalid, shown: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """The problems of the fields a form shows, and the rest as general problems (each with
    its path), for the top of the form."""
    names = set(shown)
    mine = {name: problems for name, problems in invalid.fields.items() if name in names}
    rest = [
        f"{name}: {problem}"
        for name, problems in invalid.fields.items()
        if name not in names
        for problem in problems
    ]
    return mine, [*invalid.general, *rest]


def rebased(invalid: Invalid, prefix: str) -> Invalid:
    """The problems under `prefix` (`partners.2.`) named without it, as a form of that one
    object names its inputs; the others stay as they were."""
    fields = {name.removeprefix(prefix): problems for name, problems in invalid.fields.items()}
    return Invalid(fields, invalid.general)


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """Nested values as form fields (`unflatten`'s inverse for what a form shows): lists of
    plain values stay whole under their name (checkboxes), None is left out."""
    flat: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            flat |= flatten(value, f"{prefix}{key}.")
    elif isinstance(data, list | tuple) and any(isinstance(v, dict) for v in data):
        for index, value in enumerate(data):
            flat |= flatten(value, f"{prefix}{index}.")
    elif data is not None:
        flat[prefix.removesuffix(".")] = _text(data)
    return flat


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "\n".join(_text(v) for v in value)
    return str(value)
