"""Writes the reference of every field a programme file and a MyRewards file may hold, from the
pydantic models' JSON Schemas: `python -m deploy.reference` writes docs/programme-file.md and
docs/myrewards-file.md. A unit test fails when a file and its model drift. (Here, not in
`schemas`: the MyRewards file's model is the gateway's, and the contracts import nothing of it.)

Each field is a row: its path in the file (`rules[].conditions[].operator`), its type, its
default ("required" without one), its constraints and its description. A field that holds
objects is followed by their fields; a field that holds one of several kinds of object (a
rule's `streak`) by each kind's fields, its discriminating value named.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel

from gateway.myrewards.configuration import MyRewardsConfig
from schemas.programme import TIER_ASSIGNED_EVENT_TYPE, ProgrammeConfig

DOCS = Path(__file__).resolve().parents[1] / "docs"
Schema = Mapping[str, Any]


class Row(NamedTuple):
    path: str
    type: str
    default: str
    constraints: str
    description: str


@dataclass(frozen=True)
class Document:
    path: Path
    model: type[BaseModel]
    title: str
    introduction: str
    """Markdown before the table: what the file is and how it is loaded."""
    appendix: str = ""
    """Markdown after it."""


def rows(model: type[BaseModel]) -> list[Row]:
    schema = model.model_json_schema(mode="validation")
    return list(_fields(schema, schema.get("$defs", {}), "", ""))


def _fields(model: Schema, defs: Schema, prefix: str, variant: str) -> Iterator[Row]:
    required = set(model.get("required", ()))
    for name, field in model.get("properties", {}).items():
        path = f"{prefix}{name}"
        description = field.get("description") or _model_description(field, defs)
        yield Row(
            path,
            _type(field, defs),
            _default(field, name in required),
            _constraints(field),
            f"({variant}) {description}" if variant and description else description,
        )
        for suffix, nested, kind in _nested(field, defs):
            yield from _fields(nested, defs, f"{path}{suffix}.", kind)


def _default(field: Schema, required: bool) -> str:
    if required:
        return "required"
    if "default" in field:
        return f"`{json.dumps(field['default'])}`"
    # A default factory: the schema shows no value, only the type it makes.
    return {"object": "`{}`", "array": "`[]`"}.get(field.get("type", ""), "computed")


def _resolve(node: Schema, defs: Schema) -> Schema:
    reference = node.get("$ref")
    return node if reference is None else defs[reference.rsplit("/", 1)[-1]]


def _members(node: Schema) -> list[Schema]:
    """The alternatives of a field, null left out."""
    options = node.get("anyOf") or node.get("oneOf")
    if options is None:
        return [node]
    return [option for member in options if member.get("type") != "null"
            for option in _members(member)]  # fmt: skip


def _nested(field: Schema, defs: Schema) -> Iterator[tuple[str, Schema, str]]:
    """The object schemas a field holds: (path suffix, schema, variant)."""
    discriminators = _discriminators(field)
    for member in _members(field):
        suffix = ""
        if member.get("type") == "array":
            suffix, member = "[]", member.get("items", {})
        reference = member.get("$ref")
        if reference is not None and not reference.endswith("/JsonValue"):
            yield suffix, _resolve(member, defs), discriminators.get(reference, "")


def _discriminators(field: Schema) -> dict[str, str]:
    """For a tagged union: `$ref` -> "type: daily"."""
    for node in (field, *field.get("anyOf", ())):
        discriminator = node.get("discriminator")
        if discriminator is not None:
            name = discriminator["propertyName"]
            return {ref: f"{name}: {value}" for value, ref in discriminator["mapping"].items()}
    return {}


def _model_description(field: Schema, defs: Schema) -> str:
    for member in _members(field):
        target = member.get("items", member) if member.get("type") == "array" else member
        if "$ref" in target:
            return str(_resolve(target, defs).get("description", "")).split("\n\n")[0]
    return ""


def _type(field: Schema, defs: Schema) -> str:
    members = _members(field)
    nullable = any(m.get("type") == "null" for m in field.get("anyOf", ()))
    kinds = {m.get("type") for m in members}
    if kinds == {"number", "string"} and len(members) == 2:
        text = "decimal"  # pydantic's Decimal: a JSON number or a numeric string
    elif "oneOf" in field or any("oneOf" in m for m in field.get("anyOf", ())):
        text = "object, by " + " or ".join(f"`{tag}`" for tag in _discriminators(field).values())
    else:
        text = " or ".join(_one_type(member, defs) for member in members)
    return f"{text} or null" if nullable else text


def _one_type(node: Schema, defs: Schema) -> str:
    if "$ref" in node:
        return "any JSON value" if node["$ref"].endswith("/JsonValue") else "object"
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(value)}`" for value in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    kind = node.get("type")
    if kind == "array":
        items = node.get("items", {})
        return "list of " + ("objects" if "$ref" in items else _one_type(items, defs))
    if kind == "object":
        values = node.get("additionalProperties")
        if isinstance(values, Mapping):
            return "map of string to " + _one_type(values, defs)
        return "object"
    if kind == "string" and node.get("format") == "date-time":
        return "date-time with time zone"
    return "any JSON value" if kind is None else str(kind)


_BOUNDS = (
    ("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"),
)  # fmt: skip


def _constraints(field: Schema) -> str:
    found: list[str] = []
    for node in (field, *_members(field)):
        for key, sign in _BOUNDS:
            if key in node:
                found.append(f"{sign} {_number(node[key])}")
        length = _range(node.get("minLength"), node.get("maxLength"))
        if length:
            found.append(f"length {length}")
        items = _range(node.get("minItems"), node.get("maxItems"))
        if items:
            found.append(f"{items} items")
        if "pattern" in node:
            found.append(f"matches `{node['pattern']}`")
    return ", ".join(dict.fromkeys(found))


def _range(low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f">= {low}"
    return f"<= {high}" if low is None else f"{low} to {high}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def rendered(document: Document) -> str:
    lines = [f"# {document.title}", "", document.introduction.strip(), ""]
    lines += [
        "| path | type | default | constraints | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows(document.model):
        cells = [f"`{row.path}`", row.type, row.default, row.constraints, row.description]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    if document.appendix:
        lines += ["", document.appendix.strip()]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


_GENERATED = (
    "Generated from the pydantic models by `python -m deploy.reference`; a unit test fails "
    "when this file and the models differ, so edit the models' `Field(description=...)`s, not "
    "this file."
)

PROGRAMME_FILE = Document(
    DOCS / "programme-file.md",
    ProgrammeConfig,
    "The programme file",
    f"""
A programme is one YAML (or JSON) file, validated by `schemas.programme.ProgrammeConfig`,
stored in Postgres and published on `config.v1` as one versioned snapshot:

```sh
loyalty-admin load-programme deploy/programmes/demo.yaml
```

Every mistake is refused when the file is loaded, with the field named
(`rules[2].conditions[0].operator: ...`), never when an event arrives. Beyond each field's own
constraints, the loader checks across fields: ids and names are unique in each list;
`default_tier` is one of `tiers`; a partner's `allowed_event_types`, a rule's `event_type` and
its `authorised_clients` are declared; a condition's parameter belongs to the rule's event
type and its operator and value fit the parameter's type; `per_unit` needs a mandatory numeric
`unit_field`, `external` an `external`, and `fixed` and `per_unit` points above 0; `valid_from`
is before `valid_until`; a default rule has no conditions and no streak; API rules and only
they have authorised clients; only event-triggered earn rules have a streak; of the rules that
are not ended, an event type has at most one default rule, no two ordinary rules share a
priority, and at most 15 streak rules. A changed file must raise `version`.

{_GENERATED} An example with every kind of rule is `deploy/programmes/demo.yaml`.
""",
    f"""
## Setting a user's tier

A user is in the programme's `default_tier` until a `{TIER_ASSIGNED_EVENT_TYPE}` event sets
another; from then on the user's events earn with that tier's `multiplier`. The event is an
ordinary record on `events.v1`, published by an internal service (no `partner_id`; a partner
cannot publish it, and no programme may declare an event type of that name), keyed like every
record about the user (`programme_id:user_id`), so it is decided before any later event of the
user:

```json
{{"schema_version": 1, "event_id": "evt_...", "programme_id": "demo", "user_id": "usr_abc123",
 "event_type": "{TIER_ASSIGNED_EVENT_TYPE}", "occurred_at": "2026-01-01T00:00:00Z",
 "metadata": {{"tier": "Silver"}}}}
```

The decision awards nothing: its outcome (`GET /api/partner/events/{{event_id}}`) has 0 points
and the reason `tier set to 'Silver'`; a tier the programme does not have is refused as
`invalid_event`. `loyalty-admin set-tier --programme demo --user usr_abc123 --tier Silver`
publishes it, after checking the tier; with `--reference REF` the event id is derived from the
programme, the user and the reference, so running it again changes nothing.

## Tiers from points

With a `tier_policy`, every tier has a `threshold_points` (the default tier's is 0) and the
points a user earns decide their tier:

```yaml
tiers:
  - {{name: Bronze, multiplier: "1", threshold_points: 0}}
  - {{name: Silver, multiplier: "1.5", threshold_points: 1000}}
  - {{name: Gold, multiplier: "2", threshold_points: 5000}}
default_tier: Bronze
tier_policy: {{basis: rolling_months, window_months: 12, period_months: 12, downgrade: grace,
              grace_days: 30}}
```

- **Earned**: what earn rules credit, multipliers included; redemptions do not lower it. The
  window is counted in the programme's local calendar months (this month and the 11 before for
  12), or over the whole lifetime (`basis: lifetime`).
- **Upgrade** at the event that crosses a threshold. That event is decided, and earns, at the
  old tier; the user's next event earns with the new tier's multiplier. The tier then lasts
  `period_months`.
- **Review** at the local midnight its period ends: `loyalty-scheduler` sends a `tier.review`
  record (a reserved event type, like `tier.assigned`) to each user due that day. The review
  counts the window up to the day before. Points still enough: a new period, same tier
  (`renewed`). Short: `period_end` sets the tier the points reach, `one_tier` the next tier
  down, `grace` keeps the tier `grace_days` more and then sets the tier the points reach,
  `never` never downgrades. A review that is not due, or a repeated one, changes nothing.
- **By hand** (`loyalty-admin set-tier`, the console, the admin API): the tier lasts a period
  as if reached that day, then the points decide.
- Every change is kept with its reason (`threshold_crossed`, `downgrade_policy`, `manual`),
  shown on the console's user page, the admin API's user and
  `GET /api/partner/users/{{user_id}}/tier`, and sent as a `tier.changed` webhook
  (docs/tiers.md).
""",
)

MYREWARDS_FILE = Document(
    DOCS / "myrewards-file.md",
    MyRewardsConfig,
    "The MyRewards file",
    f"""
A programme's MyRewards set-up (seed 002) is one YAML (or JSON) file, validated by
`gateway.myrewards.configuration.MyRewardsConfig`, for a programme that is loaded already:

```sh
loyalty-admin load-myrewards deploy/programmes/myrewards/demo.yaml
```

`deploy/programmes/myrewards/demo.yaml` is a complete example (`loyalty-admin seed-demo` loads
it). Rows carry their ids (clients keep them), and the ids are the programme's own: two
programmes may both have a group, question, promotion, data field or product `1`. Loading the
same file again changes nothing and a changed row is updated in place; rows missing from the
file are kept (users and claims may refer to them: `active: false` retires a promotion or a
product). The loader also checks that ids are not repeated within a list, that
`required_fields` are user fields, that at most one user group is the default, that
`parent_id`s name groups of the file without a cycle, that the `promotion_id` of a data field
or a product is a promotion of the file, and that a SKU (`product_or_activity`) names one
product of the programme and one of each promotion at most.

A sales claim (`POST /api/v2/performance/data`) names its product by SKU: with a promotion, that
promotion's product of the SKU, else the programme's (one without `promotion_id`); a
promotion's product is claimable only with its promotion. It earns `points_per_unit` times its
quantity, credited to its user from the programme's budget.

{_GENERATED}
""",
)

DOCUMENTS = (PROGRAMME_FILE, MYREWARDS_FILE)


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    for document in DOCUMENTS:
        document.path.write_text(rendered(document))
        print(f"wrote {document.path}")


if __name__ == "__main__":
    main()
