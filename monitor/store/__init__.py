"""PostgreSQL (or SQLite) persistence: engine, ORM models, writes and read queries."""
