"""The user's ``$EDITOR``, for replies: shared by the shell (``broadsheet reply``) and the
reader's compose screen.

Design: the text travels through a private temporary file (``mkstemp``: mode 0600) that is
always deleted, whatever the editor does. ``$VISUAL`` wins over ``$EDITOR`` (the Unix
convention), then ``vi``. The template quotes what is answered in ``#`` lines, which
``strip_instructions`` removes: a reply saved with only those lines is empty, i.e. cancelled.
This module imports neither Textual nor the data layer's internals (only ``cache.errors``),
so either face can use it without pulling in the other.
"""

from __future__ import annotations

import os
from typing import Any

from cache.errors import BroadsheetError

INSTRUCTIONS = "# Lines starting with '#' are removed. Save an empty reply to cancel."


def template(title: str, comment: Any = None) -> str:
    """The editor's starting text: room to type, then what is answered, quoted as comments."""
    import textwrap

    lines = ["", ""]
    if comment is not None:
        lines.append(f"# Replying to {comment.author}'s comment #{comment.id} on “{title}”:")
        quoted = comment.text.strip().splitlines()
    else:
        lines.append(f"# Replying to “{title}”")
        quoted = []
    for line in quoted[:40]:
        lines.extend(f"# > {part}" for part in (textwrap.wrap(line, 74) or [""]))
    lines.append(INSTRUCTIONS)
    return "\n".join(lines) + "\n"


def strip_instructions(text: str) -> str:
    """The reply without the template's ``#`` lines and surrounding blank lines."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


def editor_command() -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split like a shell would."""
    import shlex

    value = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(value) or ["vi"]


def edit_text(text: str, suffix: str = ".md") -> str:
    """Let the user edit ``text`` in their editor; returns what they saved.

    Raises ``BroadsheetError`` when the editor cannot be run or exits with a failure."""
    import subprocess
    import tempfile

    fd, path = tempfile.mkstemp(prefix="broadsheet-reply-", suffix=suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        command = [*editor_command(), path]
        try:
            status = subprocess.run(command, check=False).returncode
        except OSError as error:
            raise BroadsheetError(f"cannot run the editor {command[0]!r}: {error.strerror}") from None
        if status != 0:
            raise BroadsheetError(f"the editor {command[0]!r} exited with status {status}: nothing sent")
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
