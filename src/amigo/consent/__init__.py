"""The consent ledger: append-only statements, the current state as their projection."""
