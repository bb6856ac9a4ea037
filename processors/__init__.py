"""Project frame processors (one job each)."""
