"""Pure helpers shared by the generator, ingestion and quality code (no Dagster here)."""
