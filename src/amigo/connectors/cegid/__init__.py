"""Cegid Y2, the stores' point-of-sale system: CSV exports and their mapping to facts."""
