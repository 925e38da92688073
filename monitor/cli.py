"""The `monitor` console script: one entry per process of docs/design.md.

Sub-commands live next to the code they run and are imported only when invoked, so
`monitor --help` stays fast and a command never pays for another one's imports (torch, streamlit).
"""

from __future__ import annotations

import importlib
import sys

import click

from monitor.errors import ConfigError, MonitorError

# name → "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "up": "monitor.local:up_command",
    "consume": "monitor.ingest.commands:consume_command",
    "produce": "monitor.ingest.commands:produce_command",
    "import": "monitor.ingest.import_command:import_command",
    "schedule": "monitor.alerts.commands:schedule_command",
    "alerts": "monitor.alerts.silence_commands:alerts_group",
    "entities": "monitor.entities.commands:entities_group",
    "dashboard": "monitor.dashboard_server:dashboard_command",
    "train": "monitor.nlp.commands:train_command",
    "evaluate": "monitor.nlp.commands:evaluate_command",
    "classify": "monitor.nlp.commands:classify_command",
    "db": "monitor.store.commands:db_group",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


def _settings_epilog() -> str:
    from monitor.settings import describe_settings

    lines = ["Settings (environment variables, or a .env file):", ""]
    for name, default, description in describe_settings():
        lines.append(f"  {name} (default {default}) {description}".rstrip())
    return "\n".join(lines)


class _Help(LazyGroup):
    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write("\n")
        for line in _settings_epilog().splitlines():
            formatter.write(line + "\n")


@click.group(cls=_Help, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="news-monitor")
def cli() -> None:
    """Streaming financial-news sentiment monitor."""


def main() -> None:
    """Console entry point: our own errors become one clear line and exit status 2."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"error: bad setting {exc.setting}: {exc.problem}", err=True)
        sys.exit(2)
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
