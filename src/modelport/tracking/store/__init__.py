"""The SQL tracking store: tables (models.py), engines and migrations (database.py), the store."""
