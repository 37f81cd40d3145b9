"""artifacts get the file name they were recorded under

Downloads offer it as the file name, and lists show it. Existing rows take the last
segment of their storage key (`<artifact id>-<name>`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("artifacts", sa.Column("name", sa.Text(), server_default="", nullable=False))
    op.execute(
        "UPDATE artifacts SET name = regexp_replace(storage_key, '^.*/([0-9a-f]{32}-)?', '')"
    )


def downgrade() -> None:
    op.drop_column("artifacts", "name")
