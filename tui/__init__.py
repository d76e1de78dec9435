"""The operator TUI (Textual).

Its screens land with the TUI issue; until then the package only reserves the name.
"""
