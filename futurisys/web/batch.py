"""The batch page for HR staff: upload a CSV, get it back scored (filled in by the batch work)."""
