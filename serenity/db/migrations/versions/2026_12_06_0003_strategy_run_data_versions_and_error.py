"""strategy_run: the data versions a run read, and why a failed run failed.

Revision ID: 0003
Revises: 0001 (main's 0002, the tax ledger, landed meanwhile: on merge this revises 0002)
Create Date: 2026-12-06 08:20:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("strategy_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_versions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("strategy_run", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("data_versions")
