"""Pure-torch network modules (no Lightning)."""
