"""Alembic environment: runs on the connection that `db.migrate` opened and locked."""

from alembic import context

from tracewire.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `tracewire db upgrade`, which holds the lock")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    compare_type=True,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
