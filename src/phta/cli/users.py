"""``phta users``: add and list users; show a demo user's current TOTP code."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from phta.config import load_settings
from phta.governance import accounts
from phta.governance.crypto import WeakPasswordError
from phta.governance.roles import ALL_ROLES, UnknownRoleError, parse_role
from phta.store import open_database

app = typer.Typer(
    help="Manage user accounts (each change is recorded in the audit chain).", no_args_is_help=True
)

_DATA_DIR = typer.Option(
    None, "--data-dir", help="Data directory (default PHTA_DATA_DIR or ./data)."
)


@app.command("add")
def add(
    email: str = typer.Argument(..., help="The user's e-mail address (their sign-in name)."),
    role: list[str] = typer.Option(
        ..., "--role", help=f"Role (repeat for several): {', '.join(sorted(ALL_ROLES))}."
    ),
    org: str = typer.Option(None, "--org", help="Organisation (created if new)."),
    name: str = typer.Option("", "--name", help="Display name."),
    lay_member: bool = typer.Option(
        False, "--lay-member", help="Access committee member who is a lay (public) member."
    ),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the password from standard input instead of prompting.",
    ),
    data_dir: Path = _DATA_DIR,
) -> None:
    """Add a user with one or more roles. Prompts for the password (never pass it as an argument)."""
    try:
        roles = [parse_role(r) for r in role]
    except UnknownRoleError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    database = open_database(load_settings(data_dir))
    try:
        user_id = accounts.create_user(
            database,
            email=email,
            password=password,
            roles=roles,
            name=name,
            organisation=org,
            lay_member=lay_member,
            actor="cli",
        )
    except (accounts.AccountError, WeakPasswordError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Added user {user_id}: {email.strip().lower()} ({', '.join(roles)})")


@app.command("list")
def list_(data_dir: Path = _DATA_DIR) -> None:
    """List users with their roles, organisation and second-factor status."""
    database = open_database(load_settings(data_dir))
    table = Table("id", "e-mail", "name", "roles", "organisation", "2FA")
    for u in accounts.list_users(database):
        roles = ", ".join(u.roles) + (" (lay)" if u.lay_member else "")
        tfa = (
            "enrolled"
            if u.totp_enrolled
            else ("REQUIRED, not enrolled" if u.totp_required else "-")
        )
        table.add_row(str(u.id), u.email, u.name, roles, u.organisation or "", tfa)
    Console(width=160).print(table)


@app.command("totp")
def totp(
    email: str = typer.Argument(..., help="A demo user's e-mail."), data_dir: Path = _DATA_DIR
) -> None:
    """Print the current sign-in code of a DEMO user (refused for real accounts)."""
    database = open_database(load_settings(data_dir))
    try:
        typer.echo(accounts.current_totp_code(database, email))
    except accounts.AccountError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
