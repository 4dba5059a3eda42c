"""Identity resolution: which source records are the same person."""
