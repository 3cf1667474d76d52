"""Every CLI command has help text, and every command is documented in docs/cli.md."""

import click
import typer
from typer.testing import CliRunner

from phta.cli.main import app
from tests.components import REPO_ROOT


def _walk(group: click.Command, prefix: tuple[str, ...] = ()):
    yield prefix, group
    # typer 0.29 ships its own click copy (typer._click), so test for sub-commands, not click.Group
    if isinstance(getattr(group, "commands", None), dict):
        for name, cmd in group.commands.items():
            yield from _walk(cmd, (*prefix, name))


def all_commands():
    return list(_walk(typer.main.get_command(app)))


def test_the_walk_finds_the_commands():
    paths = [path for path, _ in all_commands()]
    assert ("version",) in paths and len(paths) > 3


def test_every_command_has_help_text_and_help_option():
    runner = CliRunner()
    for path, cmd in all_commands():
        assert (cmd.help or "").strip(), f"`phta {' '.join(path)}` has no help text"
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"`phta {' '.join(path)} --help` failed: {result.output}"
        assert "Usage" in result.output


def test_every_command_is_documented():
    doc = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for path, _cmd in all_commands():
        if path:
            assert f"phta {' '.join(path)}" in doc, f"`phta {' '.join(path)}` missing from docs/cli.md"
