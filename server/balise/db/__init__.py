"""Storage: the schema (tables), the engine and the Alembic migrations."""

from balise.db.engine import make_engine
from balise.db.migrate import upgrade

__all__ = ["make_engine", "upgrade"]
