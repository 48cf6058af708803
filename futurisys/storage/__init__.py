"""What is stored and how: models, writes, reads at scale, purges and database time limits."""
