"""Where calls are kept: PostgreSQL (the record of every call) and Redis (live sessions)."""
