"""The operator TUI (Textual): browse and edit settings, watch locks and their WAITING_LOCK queues.

Run it with ``python -m tui`` (or ``ckit tui``); ``--demo`` starts a seeded in-memory server with
background executions taking turns on a few locks. ``tui.app.CkitApp`` is the app itself.
"""
