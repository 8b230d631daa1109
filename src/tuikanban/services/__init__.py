"""Transactions over the store: create, edit, move, close, and the read models the CLI and board share."""
