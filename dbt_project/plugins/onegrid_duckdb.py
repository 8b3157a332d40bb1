"""dbt-duckdb plugin: load DuckDB spatial from the duckdb-extension-spatial wheel (offline),
and open the warehouse read-only for ``dbt docs generate``.

The profile sets ``extension_directory`` (under ONEGRID_DATA_DIR) and disables auto-install in
``config_options``; here the extension is installed into that directory from the wheel the
first time, then loaded on every connection. No network access is ever attempted.

``dbt docs generate`` only reads the warehouse (compiled SQL and the catalog). Opened
read-only, it runs beside the other readers of the finished warehouse (the quality checks and
publish, in other processes); DuckDB lets one read-write process *or* any number of read-only
ones open a file. Deciding this here rather than in the profile keeps the profile, and with
it dbt's partial-parsing state, the same for every command.
"""

from __future__ import annotations

import sys

from dbt.adapters.duckdb.plugins import BasePlugin


def docs_generate(argv: list[str]) -> bool:
    """Whether this dbt process runs ``dbt docs generate`` (global flags, with their values,
    may come first)."""
    args = argv[1:]
    return any(args[i:i + 2] == ["docs", "generate"] for i in range(len(args)))


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        try:
            conn.execute("LOAD spatial")
        except Exception:  # not installed yet in this extension_directory
            from duckdb_extensions import import_extension

            import_extension("spatial", con=conn)
            conn.execute("LOAD spatial")

    def update_connection_config(self, creds, config):
        # The warehouse folder may not exist yet on a fresh ONEGRID_DATA_DIR.
        import os

        if docs_generate(sys.argv):
            config["access_mode"] = "READ_ONLY"

        if creds.path and creds.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(creds.path)), exist_ok=True)
