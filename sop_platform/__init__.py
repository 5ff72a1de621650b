"""The generic case engine: persistence, clock and calendars, CLI."""
