"""Enable pgvector (used by a later phase for semantic search).

On a real server a superuser creates the extension when provisioning (``callproc db roles``);
then this is a no-op for the owner role. Downgrade drops it only if the owner created it.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        DO $$ BEGIN
            CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'pgvector is not enabled in this database and this role may not '
                'enable it: run the script from `callproc db roles` as a superuser first';
        END $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DO $$ BEGIN
            IF EXISTS (SELECT FROM pg_extension
                       WHERE extname = 'vector' AND extowner = current_user::regrole) THEN
                DROP EXTENSION vector;
            END IF;
        END $$
        """
    )
