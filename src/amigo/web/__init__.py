"""Pages served by the app: the public consent pages (no JavaScript, French and English)."""
