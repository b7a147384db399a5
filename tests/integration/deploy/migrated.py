"""A fresh database migrated up to, not including, one migration: where a migration test puts
the rows that migration must carry over."""

import shutil
from pathlib import Path

from yoyo import get_backend, read_migrations

from deploy import db
from deploy.local import postgres
from deploy.local.settings import LocalSettings


def migrated_up_to(server: LocalSettings, name: str, migration: str, work: Path) -> str:
    """Creates database `name` afresh with every migration before `migration` applied (copied
    to `work`, since yoyo reads a folder); answers its URL."""
    postgres.drop_database(server, name)
    postgres.ensure_database(server, name)
    url = server.database_url(name)
    before = work / "migrations"
    before.mkdir()
    for path in sorted(db.MIGRATIONS.glob("*.sql")):
        if path.name < migration:
            shutil.copy(path, before)
    backend = get_backend(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(before))))
    finally:
        backend.connection.close()
    return url
