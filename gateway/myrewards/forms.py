"""Rails-style nested form keys to JSON-like values, so that an HTML form body reads like JSON.

`transaction[points]=100` is `{"transaction": {"points": "100"}}`;
`answers[][id]=2&answers[][answer]=x` and `answers[0][id]=2` are lists of objects;
`tags[]=a&tags[]=b` is a list of strings. Values stay strings: the pydantic models convert them
(lax mode), as they convert JSON strings such as `"true"` or `"10"`. Bounded: at most
FIELDS_MAX fields, DEPTH_MAX levels and LIST_ITEMS_MAX items per list."""

import re
from typing import Any

FIELDS_MAX = 512
DEPTH_MAX = 4
LIST_ITEMS_MAX = 1_000
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """A form the nesting rules cannot read (conflicting or too deep keys)."""


def nest(fields: list[tuple[str, str]]) -> dict[str, Any]:
    if len(fields) > FIELDS_MAX:
        raise FormError(f"at most {FIELDS_MAX} form fields")
    root: dict[str, Any] = {}
    for key, value in fields:
        _put(root, _path(key), value)
    nested: dict[str, Any] = _lists(root)
    return nested


def _path(key: str) -> list[str]:
    matched = _KEY.match(key)
    if matched is None:
        raise FormError(f"malformed form key {key!r}")
    path = [matched.group(1), *_PART.findall(matched.group(2))]
    if "__list__" in path:
        raise FormError(f"malformed form key {key!r}")
    if len(path) > DEPTH_MAX:
        raise FormError(f"form key {key!r} is nested deeper than {DEPTH_MAX}")
    return path


def _put(node: dict[str, Any], path: list[str], value: str) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        _set(node, head, value)
        return
    if rest[0] == "":  # `name[]...`: a list; `name[][field]` starts a new object per repeat
        items = node.setdefault(head, {"__list__": []})
        if not isinstance(items, dict) or "__list__" not in items:
            raise FormError(f"form key {head!r} is both a list and a value")
        _append(items["__list__"], rest[1:], value)
        return
    child = node.setdefault(head, {})
    if not isinstance(child, dict) or "__list__" in child:
        raise FormError(f"form key {head!r} is both an object and a value")
    _put(child, rest, value)


def _append(items: list[Any], rest: list[str], value: str) -> None:
    if len(items) >= LIST_ITEMS_MAX:
        raise FormError(f"at most {LIST_ITEMS_MAX} items in a list")
    if not rest:
        items.append(value)
        return
    if rest[0] == "":
        raise FormError("lists of lists are not supported")
    last = items[-1] if items else None
    if not isinstance(last, dict) or rest[0] in last:
        last = {}
        items.append(last)
    _put(last, rest, value)


def _set(node: dict[str, Any], key: str, value: str) -> None:
    if key in node:
        raise FormError(f"form key {key!r} is given twice")
    node[key] = value


def _lists(node: Any) -> Any:
    """`{"__list__": [...]}` becomes a list; an object whose keys are all digits, a list in the
    keys' numeric order (`answers[0][id]`)."""
    if isinstance(node, list):
        return [_lists(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "__list__" in node:
        return _lists(node["__list__"])
    if node and all(key.isdigit() for key in node):
        if len(node) > LIST_ITEMS_MAX:
            raise FormError(f"at most {LIST_ITEMS_MAX} items in a list")
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}
