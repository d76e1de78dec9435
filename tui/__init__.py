"""The operator TUI (Textual). Its screens land with the TUI issue; the package reserves the name."""
