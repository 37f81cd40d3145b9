"""faster ingestion: no foreign keys from steps and run events to organizations

The two tables every recorded step writes to paid a trigger and an index lookup per copied
row for a check the writer already guarantees: a step's or event's org_id is copied from its
run, whose own org_id keeps its foreign key. Measured on the sink alone: about 22k → 28-44k
steps/s. Deleting an organization now deletes its steps and run events explicitly, as
deleting a run already must (0004).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOT_TABLES = ("steps", "run_events")


def upgrade() -> None:
    for table in _HOT_TABLES:
        op.drop_constraint(f"fk_{table}_org_id_organizations", table, type_="foreignkey")


def downgrade() -> None:
    for table in _HOT_TABLES:
        op.execute(
            f"DELETE FROM {table} t "
            "WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = t.org_id)"
        )
        op.create_foreign_key(
            f"fk_{table}_org_id_organizations",
            table,
            "organizations",
            ["org_id"],
            ["id"],
            ondelete="CASCADE",
        )
