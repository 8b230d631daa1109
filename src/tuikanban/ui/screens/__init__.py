"""Modal screens of the board: forms, details, pickers and settings."""
