"""The store: engine, tables, migrations and queries. Knows nothing of the terminal."""
