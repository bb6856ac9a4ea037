"""Calls record how many requests they made of the model (a runaway model shows here).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "calls",
        sa.Column("llm_requests", sa.Integer, comment="requests made of the model on the call"),
        schema="callproc",
    )


def downgrade() -> None:
    op.drop_column("calls", "llm_requests", schema="callproc")
