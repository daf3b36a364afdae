"""The SQL tracking store: ORM tables (models.py), engines and migrations (engine.py), the store."""
