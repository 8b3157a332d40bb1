"""dbt-duckdb plugin: load DuckDB spatial from the duckdb-extension-spatial wheel (offline).

The profile sets ``extension_directory`` (under ONEGRID_DATA_DIR) and disables auto-install in
``config_options``; here the extension is installed into that directory from the wheel the
first time, then loaded on every connection. No network access is ever attempted.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin


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

        if creds.path and creds.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(creds.path)), exist_ok=True)
