"""ingested_batches: a BRIN index on committed_at, for pruning old batch ids

The ingest service forgets committed batch ids after their retention (two days by
default) in chunks; rows arrive in commit order, so a BRIN index finds the old ones for
a few pages of index instead of a scan of the whole table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ingested_batches_committed_at",
        "ingested_batches",
        ["committed_at"],
        postgresql_using="brin",
    )


def downgrade() -> None:
    op.drop_index("ix_ingested_batches_committed_at", table_name="ingested_batches")
