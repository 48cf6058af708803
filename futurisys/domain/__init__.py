"""The employee schema and what is computed from it, free of Flask and of the database."""
