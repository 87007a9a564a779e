"""Run a revision's plain-SQL file, online or offline.

Online, the file goes to the driver untouched (``exec_driver_sql`` with ``no_parameters``),
so ``%`` and ``:name`` inside the SQL are never taken for bind parameters and psycopg sends
the whole multi-statement script in one simple-protocol round trip. Offline
(``alembic upgrade --sql``), the file is written verbatim to the output script.
"""

from __future__ import annotations

from importlib import resources

from alembic import context, op


def read_sql(name: str) -> str:
    """Contents of ``versions/sql/<name>`` shipped inside this package."""
    return resources.files("vigil_migrations").joinpath("versions", "sql", name).read_text("utf-8")


def run_sql_file(name: str) -> None:
    """Execute ``versions/sql/<name>`` in the current migration transaction."""
    sql = read_sql(name)
    if context.is_offline_mode():
        op.get_context().impl.static_output(sql)
        return
    op.get_bind().exec_driver_sql(sql, execution_options={"no_parameters": True})
