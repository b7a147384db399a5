"""Which events a candidate decides exactly as the version in force decided them: a replay then
decides such an event once for both arms, while the arms' states for its user are still the
same object (`evidence.core.replay`). A backtest of the configuration in force decides every event
once instead of twice; a candidate that changes one rule, each user's events up to the first
one that rule decides differently.

`decide` is a pure function of the event, the user's state, the compiled programme, the
external amounts and the budgets' use. For an event of type T (not one triggering a rule by its
id), it reads of the programme only: its settings outside the rules (time zone, rounding,
tiers, partners, event types and their parameters, ...), the rules of type T, and the set of
rule ids (a state's maps drop the entries of rules the programme no longer has). Two
configurations equal in these give the same decision of the same event from the same state,
if the budgets' use of T's budgeted rules is the same in both arms too (the replay checks that
per event). The version number is left out: it only names the configuration in explanations,
which a replay's totals do not read."""

from collections.abc import Callable
from typing import Any

from schemas.programme import ProgrammeConfig

ConfigOf = Callable[[int | None], ProgrammeConfig]


class AlikeTypes:
    """By version and event type, whether the candidate decides events of that type as that
    version does, and if so the type's budgeted rules, whose use the arms must share too
    (worked out once for each pair: few versions, few types)."""

    def __init__(self, config_of: ConfigOf, candidate: ProgrammeConfig) -> None:
        self._config_of = config_of
        self._candidate = _Shape(candidate)
        self._shapes: dict[int, _Shape] = {}
        self._by_version: dict[int | None, dict[str, tuple[str, ...] | None]] = {}

    def budgeted_if_alike(self, version: int | None, event_type: str) -> tuple[str, ...] | None:
        """The type's budgeted rules when the candidate decides it as `version`; else None."""
        types = self._by_version.get(version)
        if types is None:
            types = self._by_version[version] = {}
        if event_type in types:
            return types[event_type]
        found = types[event_type] = self._compared(version, event_type)
        return found

    def _compared(self, version: int | None, event_type: str) -> tuple[str, ...] | None:
        config = self._config_of(version)
        shape = self._shapes.get(config.version)
        if shape is None:
            shape = self._shapes[config.version] = _Shape(config)
        candidate = self._candidate
        rules = candidate.rules.get(event_type, [])
        alike = (
            shape.settings == candidate.settings
            and shape.rule_ids == candidate.rule_ids
            and shape.rules.get(event_type, []) == rules
        )
        return tuple(rule["rule_id"] for rule in rules if rule.get("budget_max")) if alike else None


class _Shape:
    """What of a configuration a decision reads, as plain data to compare."""

    def __init__(self, config: ProgrammeConfig) -> None:
        self.settings = config.model_dump(mode="json", exclude={"version", "rules"})
        dumped = [rule.model_dump(mode="json") for rule in config.rules]
        self.rule_ids = [rule["rule_id"] for rule in dumped]
        self.rules: dict[str, list[dict[str, Any]]] = {}
        for rule in dumped:
            self.rules.setdefault(rule["event_type"], []).append(rule)
