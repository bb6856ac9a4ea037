"""Calls, their turns, tool calls and handoffs, and the prompt versions they used.

Everything is in the ``callproc`` schema, owned by the owner role; the read-write role
(``callproc_rw``, which the service's login role belongs to) may read and write rows of every
table, present and future, and do nothing else.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "callproc"
RW = "callproc_rw"
NOW = sa.text("now()")
LATENCIES = (
    "voice_to_voice_ms",
    "stt_final_ms",
    "end_of_turn_ms",
    "llm_first_token_ms",
    "tts_first_audio_ms",
    "send_ms",
    "barge_in_stop_ms",
)


def upgrade() -> None:
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RW}') THEN
                CREATE ROLE {RW} NOLOGIN;
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'role {RW} is missing and this role may not create it: run the '
                'script from `callproc db roles` as a superuser first';
        END $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA {S} TO {RW}")
    op.execute(f"REVOKE ALL ON {S}.alembic_version FROM {RW}")
    op.execute(f"GRANT SELECT ON {S}.alembic_version TO {RW}")  # the service checks the version
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {S} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {RW}"
    )
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {S} GRANT USAGE, SELECT ON SEQUENCES TO {RW}")

    op.create_table(
        "prompt_versions",
        sa.Column("hash", sa.Text, primary_key=True, comment="sha256 of the prompt set"),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False, comment="system prompt and fixed phrases"),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=S,
    )
    op.create_table(
        "calls",
        sa.Column("call_uuid", pg.UUID, primary_key=True, comment="Asterisk's AudioSocket id"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("outcome", sa.Text, comment="completed, transferred, caller_hangup..."),
        sa.Column("outcome_reason", sa.Text, comment="e.g. the transfer reason"),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("pipeline", sa.Text, nullable=False),
        sa.Column(
            "prompt_version", sa.Text, sa.ForeignKey(f"{S}.prompt_versions.hash"), index=True
        ),
        sa.Column(
            "caller_number_hash",
            sa.Text,
            comment="HMAC-SHA256 of the caller's number; the number itself is never stored",
        ),
        sa.Column("turns", sa.Integer, nullable=False, server_default="0"),
        sa.Column("latency", pg.JSONB, comment="per stage: count, median, p95, max (ms)"),
        sa.Column("transcript_pruned_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("calls_started_at", "calls", [sa.text("started_at DESC")], schema=S)
    op.create_index("calls_caller_number_hash", "calls", ["caller_number_hash"], schema=S)
    op.create_table(
        "turns",
        sa.Column(
            "call_uuid",
            pg.UUID,
            sa.ForeignKey(f"{S}.calls.call_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("turn_index", sa.Integer, primary_key=True, comment="0 is the greeting"),
        sa.Column("role", sa.Text, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at_ms", sa.Integer, comment="since the call started"),
        sa.Column("interrupted", sa.Boolean, nullable=False, server_default=sa.false()),
        *(sa.Column(name, sa.Float) for name in LATENCIES),
        sa.CheckConstraint("role IN ('caller', 'bot')", name="turns_role"),
        schema=S,
    )
    op.create_table(
        "tool_calls",
        sa.Column(
            "call_uuid",
            pg.UUID,
            sa.ForeignKey(f"{S}.calls.call_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True, comment="order on the call"),
        sa.Column("turn_index", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("arguments", pg.JSONB, nullable=False, comment="personal data masked"),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("duration_ms", sa.Float),
        sa.Column("at_ms", sa.Integer, comment="since the call started"),
        schema=S,
    )
    op.create_table(
        "handoffs",
        sa.Column(
            "call_uuid",
            pg.UUID,
            sa.ForeignKey(f"{S}.calls.call_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("caller_wants", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        schema=S,
    )


def downgrade() -> None:
    for table in ("handoffs", "tool_calls", "turns", "calls", "prompt_versions"):
        op.drop_table(table, schema=S)
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {S} "
        f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {RW}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {S} REVOKE USAGE, SELECT ON SEQUENCES FROM {RW}"
    )
    op.execute(f"REVOKE USAGE ON SCHEMA {S} FROM {RW}")
