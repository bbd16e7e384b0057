"""Docs that must stay true: every policy setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import BaseModel

from tutela.cli.main import main
from tutela.policy import (
    CustomRole,
    OidcProvider,
    Policy,
    SamlProvider,
    UpstreamSettings,
    WorkspaceRoleMapping,
)

DOCS = Path(__file__).resolve().parents[1] / "docs"
README = Path(__file__).resolve().parents[1] / "README.md"


def field_names(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= field_names(annotation)
    return names


def test_every_policy_setting_is_in_the_policy_reference() -> None:
    text = (DOCS / "policy.md").read_text()
    missing = sorted(
        n
        for model in (
            Policy, UpstreamSettings, OidcProvider, SamlProvider, WorkspaceRoleMapping, CustomRole
        )
        for n in field_names(model)
        if f"{n}:" not in text
    )
    assert missing == []


def commands(group: click.Group, prefix: str = "tutela") -> list[str]:
    out = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += commands(command, f"{prefix} {name}")
        else:
            out.append(f"{prefix} {name}")
    return out


def test_every_cli_command_is_in_the_readme() -> None:
    text = README.read_text()
    missing = [c for c in commands(main) if c not in text]
    assert missing == []


def test_every_source_module_is_in_the_architecture_doc() -> None:
    text = (DOCS / "ARCHITECTURE.md").read_text()
    src = Path(__file__).resolve().parents[1] / "src" / "tutela"
    missing = []
    for path in sorted(src.rglob("*.py")):
        relative = path.relative_to(src).as_posix()
        if path.name == "__init__.py" or "migrations" in relative:
            continue
        if relative not in text:
            missing.append(relative)
    assert missing == []
