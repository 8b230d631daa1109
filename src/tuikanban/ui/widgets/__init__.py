"""Board widgets."""
