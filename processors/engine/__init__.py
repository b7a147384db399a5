"""The points engine: a pure, deterministic core with no I/O.

    programme = compile_programme(config)           # once per config.v1 snapshot
    decision = decide(event, state, programme)      # per event
    command = ledger_command_for(event, decision)   # what the ledger must book

It imports only the standard library, pydantic, orjson and `schemas`, and never reads the clock,
the network, the environment or the disk.
"""

from processors.engine.commands import ledger_command_for, ledger_command_json
from processors.engine.compile import CompiledProgramme, compile_programme
from processors.engine.decide import decide
from processors.engine.decision import Decision, DecisionStatus
from processors.engine.exceptions import EngineError, InvariantError, StateDecodeError
from processors.engine.explain import Explanation, RuleTrace
from processors.engine.outcomes import Award, ExternalCall
from processors.engine.state import UserState

__all__ = [
    "Award",
    "CompiledProgramme",
    "Decision",
    "DecisionStatus",
    "EngineError",
    "Explanation",
    "ExternalCall",
    "InvariantError",
    "RuleTrace",
    "StateDecodeError",
    "UserState",
    "compile_programme",
    "decide",
    "ledger_command_for",
    "ledger_command_json",
]
