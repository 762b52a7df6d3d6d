"""Shell completion for bash, zsh and fish, through argcomplete.

``broadsheet completion SHELL`` prints the script a shell sources once; from then on the
shell runs ``broadsheet`` itself with argcomplete's protocol (``_ARGCOMPLETE`` and
``COMP_LINE`` in the environment) and ``main`` hands the parser to ``autocomplete``, which
answers and exits. Commands and options come from the parser; ``--site``/``NAME``
arguments are completed by ``site_names``.

Invariants: argcomplete is imported only while completing or printing a script, never by
an ordinary command (``broadsheet unread`` must stay fast); the completers read the small
``sites.json`` with ``orjson`` and never open the store, and a missing or broken cache
completes to nothing rather than an error.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import EXIT_OK, Command

if TYPE_CHECKING:
    from cache.service import Service

SHELLS = ("bash", "zsh", "fish")

HELP = """print the shell completion script for SHELL (bash, zsh or fish)

Load it from your shell's start-up file:
  bash (~/.bashrc):                 eval "$(broadsheet completion bash)"
  zsh (~/.zshrc, after compinit):   eval "$(broadsheet completion zsh)"
  fish (~/.config/fish/config.fish): broadsheet completion fish | source

Commands, options, site names and folder names are completed."""


def register(command: Command) -> None:
    """Add ``completion`` to ``broadsheet``'s parser."""
    sub = command("completion", cmd_completion, HELP)
    sub.add_argument("shell", metavar="SHELL", choices=SHELLS, help="bash, zsh or fish")


def cmd_completion(service: Service, args: argparse.Namespace) -> int:
    print(script(args.shell), end="")
    return EXIT_OK


def script(shell: str) -> str:
    """The completion script for ``shell`` (bash, zsh or fish)."""
    argcomplete = _argcomplete()
    return str(argcomplete.shellcode(["broadsheet"], shell=shell))


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer a shell's completion request (argcomplete's protocol) and exit; returns at
    once when the environment holds no request."""
    _argcomplete().autocomplete(parser)


def site_names(prefix: str = "", parsed_args: argparse.Namespace | None = None, **_: Any) -> list[str]:
    """Subscribed site names starting with ``prefix`` (an argcomplete completer)."""
    from cache import paths

    override = getattr(parsed_args, "cache_dir", None) if parsed_args is not None else None
    return [name for name in _site_names(paths.cache_dir(override)) if name.startswith(prefix)]


def folder_names(prefix: str = "", parsed_args: argparse.Namespace | None = None, **_: Any) -> list[str]:
    """Folder names in use starting with ``prefix`` (an argcomplete completer)."""
    from cache import paths

    override = getattr(parsed_args, "cache_dir", None) if parsed_args is not None else None
    folders = {str(row.get("folder") or "") for row in _site_rows(paths.cache_dir(override))}
    return sorted(f for f in folders if f and f.startswith(prefix))


def _site_names(directory: Path) -> list[str]:
    return [str(row["name"]) for row in _site_rows(directory) if "name" in row]


def _site_rows(directory: Path) -> list[dict[str, Any]]:
    import orjson

    try:
        rows = orjson.loads((directory / "sites.json").read_bytes()).get("sites", {})
        return [rows[key] for key in sorted(rows, key=int) if isinstance(rows[key], dict)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _argcomplete() -> Any:
    from cache.errors import BroadsheetError

    try:
        import argcomplete
    except ImportError:
        raise BroadsheetError("shell completion needs argcomplete: pip install argcomplete") from None
    return argcomplete


__all__ = ["SHELLS", "autocomplete", "folder_names", "script", "site_names"]
