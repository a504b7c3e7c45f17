"""Real database failures for tests: a trigger makes the database itself refuse a write, so the code
under test meets a genuine driver error at the exact point it would in production."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection

TRIGGER = "studio_test_refuse"
REFUSAL = "refused by a test trigger"


@contextlib.contextmanager
def inserts_refused(table: str) -> Iterator[None]:
    """While open, every INSERT into `table` fails, on every connection (triggers live in the schema)."""
    if connection.vendor == "postgresql":
        create = [
            f"CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$",
            f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()",
        ]
        drop = [f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}", f"DROP FUNCTION IF EXISTS {TRIGGER}()"]
    elif connection.vendor == "sqlite":
        create = [f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"]
        drop = [f"DROP TRIGGER IF EXISTS {TRIGGER}"]
    else:
        raise NotImplementedError(f"no test trigger for {connection.vendor}")
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in drop:
                cursor.execute(statement)
