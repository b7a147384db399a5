"""Every programme's compiled configuration, kept current from the compacted `config.v1` topic
(`runtime.config_feed.follow(catalog, ...)`)."""

from processors.engine import CompiledProgramme, compile_programme
from runtime.config_feed import ProgrammeConfigs
from schemas.programme import ProgrammeConfig


class ProgrammeCatalog(ProgrammeConfigs):
    """Each snapshot compiled once, for the engine; its variant with the draft rules active
    compiled the first time a preview asks for it (the console's "Try an event")."""

    def __init__(self) -> None:
        super().__init__()
        self._programmes: dict[str, CompiledProgramme] = {}
        self._with_drafts: dict[str, CompiledProgramme] = {}

    def get(self, programme_id: str) -> CompiledProgramme | None:
        return self._programmes.get(programme_id)

    def with_drafts(self, programme_id: str) -> CompiledProgramme | None:
        """The programme compiled with its draft rules as if they were active, for the current
        version (kept until the next one)."""
        compiled = self._with_drafts.get(programme_id)
        config = self.config(programme_id)
        if config is None:
            return None
        if compiled is None or compiled.version != config.version:
            compiled = self._with_drafts[programme_id] = compile_programme(drafts_active(config))
        return compiled

    def installed(self, config: ProgrammeConfig) -> None:
        self._programmes[config.programme_id] = compile_programme(config)


def drafts_active(config: ProgrammeConfig) -> ProgrammeConfig:
    """The snapshot with every draft rule active. Valid as it is: a programme's checks (one
    default rule per event type, distinct priorities) already count drafts, ended rules aside."""
    rules = tuple(
        rule.model_copy(update={"status": "active"}) if rule.status == "draft" else rule
        for rule in config.rules
    )
    return config.model_copy(update={"rules": rules})
