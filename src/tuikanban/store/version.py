"""The database schema version, in a module of its own so that the board's first read (store.fastread) can check
it without importing SQLModel. Bump it here, with a migration in store/migrations.py."""

SCHEMA_VERSION = 12
