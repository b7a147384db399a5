"""Every programme's compiled configuration, kept current from the compacted `config.v1` topic
(`runtime.config_feed.follow(catalog, ...)`)."""

from processors.engine import CompiledProgramme, compile_programme
from runtime.config_feed import ProgrammeConfigs
from schemas.programme import ProgrammeConfig


class ProgrammeCatalog(ProgrammeConfigs):
    """Each snapshot compiled once, for the engine."""

    def __init__(self) -> None:
        super().__init__()
        self._programmes: dict[str, CompiledProgramme] = {}

    def get(self, programme_id: str) -> CompiledProgramme | None:
        return self._programmes.get(programme_id)

    def installed(self, config: ProgrammeConfig) -> None:
        self._programmes[config.programme_id] = compile_programme(config)
