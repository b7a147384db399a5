"""`loyalty-db`: applies the versioned SQL migrations in deploy/migrations with yoyo."""

import argparse
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict
from yoyo import get_backend, read_migrations

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    database_url: str = "postgresql://loyalty@127.0.0.1:5432/loyalty"


def migrate(database_url: str) -> int:
    """Apply every migration not applied yet, in order; returns how many were applied."""
    backend = get_backend(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    migrations = read_migrations(str(MIGRATIONS))
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    finally:
        # yoyo leaves its connection to the garbage collector.
        backend.connection.close()
    return len(pending)


def main() -> None:
    parser = argparse.ArgumentParser(prog="loyalty-db", description=__doc__)
    parser.add_argument("command", choices=["migrate"])
    parser.add_argument("--database-url", help="defaults to LOYALTY_DATABASE_URL")
    arguments = parser.parse_args()
    database_url = arguments.database_url or DatabaseSettings().database_url
    applied = migrate(database_url)
    print(f"applied {applied} migration(s)")


if __name__ == "__main__":
    main()
