"""Tool calls keep what the tool answered (masked), for the operator's summary and review.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tool_calls",
        sa.Column("result", pg.JSONB, comment="the tool's answer, personal data masked"),
        schema="callproc",
    )


def downgrade() -> None:
    op.drop_column("tool_calls", "result", schema="callproc")
