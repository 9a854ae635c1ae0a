"""Docs that cannot drift: every `rideshare` command and option the docs show exists, every repository path
they name exists, the benchmark tables are the ones the results give, and nothing points outside the repo."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from bench.docs import DOC, render
from core.settings import PROJECT_ROOT
from rideshare.cli import app

DOCS = sorted([PROJECT_ROOT / "README.md", *(PROJECT_ROOT / "docs").glob("*.md"), PROJECT_ROOT / "dbt" / "README.md"])
CODE = re.compile(r"```[a-z]*\n(.*?)```", re.S)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
TOP_LEVEL = ("agents_sim", "bench", "core", "dbt", "docs", "frontend", "lakehouse", "rideshare", "schemas", "streams",
             "tests", "topologies", ".ci")


def snippets(path: Path) -> list[str]:
    text = path.read_text()
    blocks = CODE.findall(text)
    lines = [line for block in blocks for line in block.splitlines()]
    return lines + INLINE.findall(CODE.sub("", text))


def rideshare_commands(path: Path) -> list[list[str]]:
    """Every `rideshare ...` invocation in the doc, as words, up to a comment, pipe or `&&`."""
    found = []
    for snippet in snippets(path):
        for part in re.split(r"&&|\|\||;|\|", snippet.split(" #")[0]):
            words = part.strip().split()
            while words and (words[0] in ("$", "sudo") or ("=" in words[0] and not words[0].startswith("-"))):
                words = words[1:]  # a prompt or environment assignments before the command
            if words and words[0] in ("rideshare", ".venv/bin/rideshare", "$(RIDESHARE)"):
                try:
                    found.append(shlex.split(" ".join(words[1:])))
                except ValueError:
                    found.append(words[1:])
    return found


def resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The (click-style) command the words name, and the option words given to it."""
    command = typer.main.get_command(app)
    rest = list(words)
    while rest and hasattr(command, "commands") and not rest[0].startswith("-"):
        name = rest.pop(0)
        if name.startswith(("[", "<", "...")):
            break
        sub = command.commands.get(name)
        assert sub is not None, f"`rideshare {' '.join(words)}`: no command {name!r}"
        command = sub
    return command, rest


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_every_documented_rideshare_command_and_option_exists(doc: Path) -> None:
    for words in rideshare_commands(doc):
        command, rest = resolve(words)
        known = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]} | {"--help"}
        for word in rest:
            option = word.split("=")[0].strip("[]")
            if option.startswith("--"):
                assert option in known, f"{doc.name}: `rideshare {' '.join(words)}`: {command.name} has no option {option}"


def test_the_command_checker_rejects_what_does_not_exist() -> None:
    with pytest.raises(AssertionError):
        resolve(["lakehouse", "no-such-command"])
    command, rest = resolve(["lakehouse", "build", "--engine", "spark"])
    assert command.name == "build" and rest == ["--engine", "spark"]


def repository_paths(path: Path) -> set[str]:
    paths = set()
    for snippet in snippets(path):
        for word in re.findall(r"[\w.\-/]+", snippet):
            word = word.rstrip(".,:")
            if "/" in word and word.split("/")[0] in TOP_LEVEL and "<" not in word and "*" not in word:
                paths.add(word)
    return paths


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_every_documented_repository_path_exists(doc: Path) -> None:
    missing = sorted(p for p in repository_paths(doc) if not (PROJECT_ROOT / p).exists() and not p.startswith("bench/results/"))
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


def test_the_benchmark_tables_in_the_docs_are_the_ones_the_results_give() -> None:
    assert DOC.read_text() == render(), "docs/benchmarks.md is out of date: run `python -m bench.docs`"


def test_nothing_points_outside_the_repository() -> None:
    outside = re.compile(r"\.\./shared|(?i:closing report)|(?i:\bissue #?\d+)|CALIBRATION\.md")
    sources = [*DOCS, *PROJECT_ROOT.glob("*/**/*.py"), *(PROJECT_ROOT / "frontend" / "src").rglob("*.ts*")]
    offending = [f"{path.relative_to(PROJECT_ROOT)}:{number}" for path in sources
                 if ".venv" not in path.parts and ".local" not in path.parts and "node_modules" not in path.parts
                 for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1) if outside.search(line)
                 and path.name != "test_docs.py"]
    assert not offending, f"references outside the repository: {offending}"
