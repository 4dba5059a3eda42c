"""Data-subject requests (GDPR articles 15 to 21): lifecycle, deadlines, execution."""
