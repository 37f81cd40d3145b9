"""faster ingestion: no foreign keys from run-owned rows to runs, fewer step indexes

The recorder's batches COPY thousands of step and event rows per transaction; a foreign key
to `runs` costs a trigger and a row lookup per copied row, which halved COPY speed. The
writer already makes sure a run exists before anything is written into it (it resolves
each run's org in the same transaction, under the run's row lock), so deleting a run now
deletes its steps, events, vendor usage and artifacts explicitly.

The step indexes on (org_id, type, started_at) and (org_id, name, status) are covered by
`ix_steps_stage_stats` (org_id, type, name, started_at INCLUDE status, latency_ms), the
index the API's stage stats and failed-node filters use; (org_id, started_at) served no
API query that `ix_steps_usage` or `ix_steps_stage_stats` does not serve better.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RUN_OWNED = ("steps", "run_events", "run_vendor_usage", "artifacts")
_DROPPED_STEP_INDEXES = {
    "ix_steps_org_id_type_started_at": ["org_id", "type", "started_at"],
    "ix_steps_org_id_name_status": ["org_id", "name", "status"],
    "ix_steps_org_id_started_at": ["org_id", "started_at"],
}


def upgrade() -> None:
    for table in _RUN_OWNED:
        op.drop_constraint(f"fk_{table}_run_id_runs", table, type_="foreignkey")
    for name in _DROPPED_STEP_INDEXES:
        op.drop_index(name, table_name="steps")


def downgrade() -> None:
    for name, columns in _DROPPED_STEP_INDEXES.items():
        op.create_index(name, "steps", columns, unique=False)
    for table in _RUN_OWNED:
        op.execute(
            f"DELETE FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = t.run_id)"
        )
        op.create_foreign_key(
            f"fk_{table}_run_id_runs", table, "runs", ["run_id"], ["id"], ondelete="CASCADE"
        )
