"""QA samples (seed 004), and indexes for the API's filters and stats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qa_samples",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("step_id", sa.UUID(), nullable=True),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column(
            "checks",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("result", sa.Text(), server_default="needs_review", nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "result IN ('needs_review', 'pass', 'fail')", name=op.f("ck_qa_samples_result")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_qa_samples_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_qa_samples_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_samples")),
        sa.UniqueConstraint(
            "org_id", "bucket", "subject_id", name=op.f("uq_qa_samples_org_id_bucket_subject_id")
        ),
    )
    op.create_index(
        op.f("ix_qa_samples_org_id_bucket"),
        "qa_samples",
        ["org_id", "bucket", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(op.f("ix_qa_samples_run_id"), "qa_samples", ["run_id"], unique=False)
    op.create_index(
        "ix_steps_stage_stats",
        "steps",
        ["org_id", "type", "name", "started_at"],
        unique=False,
        postgresql_include=["status", "latency_ms"],
    )
    op.create_index(
        "ix_steps_usage",
        "steps",
        ["org_id", "started_at"],
        unique=False,
        postgresql_include=[
            "vendor",
            "model",
            "status",
            "error_code",
            "input_tokens",
            "output_tokens",
            "cost",
        ],
        postgresql_where=sa.text("vendor IS NOT NULL OR model IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_steps_usage", table_name="steps")
    op.drop_index("ix_steps_stage_stats", table_name="steps")
    op.drop_index(op.f("ix_qa_samples_run_id"), table_name="qa_samples")
    op.drop_index(op.f("ix_qa_samples_org_id_bucket"), table_name="qa_samples")
    op.drop_table("qa_samples")
