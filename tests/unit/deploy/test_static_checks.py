"""Issue 14 item 1: CI checks what we promise. `./dev check` runs ruff, `ruff format --check`,
strict mypy over the whole tree and the import contracts; `.ci/run` runs it before the tests;
the pre-commit hooks run the same four tools; pytest turns every warning into an error but the
one named and justified in pyproject."""

import shlex
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[3]
CHECKS = [
    ".venv/bin/ruff check",
    ".venv/bin/ruff format --check",
    ".venv/bin/mypy",
    ".venv/bin/lint-imports",
]


def _dev_check() -> list[str]:
    """The commands of the `check)` branch of ./dev, in order (after `install`)."""
    lines = (ROOT / "dev").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("check)"))
    branch: list[str] = []
    for line in lines[start:]:
        command = line.strip().removeprefix("check)").strip().removesuffix(";;").strip()
        branch.append(command)
        if line.rstrip().endswith(";;"):
            return [c for c in branch if c and c != "install"]
    raise AssertionError("./dev has no complete check) branch")


def _without_paths(command: str) -> str:
    """The tool and its options: `.` (the tree) and pre-commit's `--force-exclude` (make ruff
    honour its excludes for the file names pre-commit passes, as it does for `.`) set aside."""
    return " ".join(w for w in shlex.split(command) if w not in {".", "--force-exclude"})


def test_dev_check_runs_the_four_tools_over_the_whole_tree() -> None:
    assert _dev_check() == [f"{tool} ." if "lint" not in tool else tool for tool in CHECKS]


def test_ci_runs_the_check_before_the_tests() -> None:
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip().startswith(("./dev", "exec ./dev"))
    ]
    assert commands == ["./dev check", "exec ./dev test"]


def test_the_pre_commit_hooks_run_what_dev_check_runs() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [_without_paths(hook["entry"]) for hook in hooks] == CHECKS
    assert {repo["repo"] for repo in config["repos"]} == {"local"}  # the pinned tools in .venv
    whole_tree = [hook["id"] for hook in hooks if hook.get("pass_filenames", True) is False]
    assert whole_tree == ["mypy", "import-contracts"]  # strict mypy over the tree, not a file


def test_every_warning_fails_its_test_but_the_one_named_and_justified() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    filters = tomllib.loads(text)["tool"]["pytest"]["ini_options"]["filterwarnings"]
    assert filters == ["error", "default::ResourceWarning"]
    above = text[: text.index("filterwarnings =")].splitlines()
    comment: list[str] = []
    while above and above[-1].startswith("#"):
        comment.insert(0, above.pop())
    why = " ".join(comment)
    assert "ResourceWarning" in why
    assert "garbage collector" in why
