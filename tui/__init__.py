"""Broadsheet's user interfaces: the Textual reader (``tui.app``) and the shell (``tui.cli``).

Nothing here opens a socket: the reader and the commands read the local cache
(``cache.Store``) and ask ``cache.service`` to refresh it.
"""
