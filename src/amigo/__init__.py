"""AMIgo: one trustworthy golden profile per customer, and what to do with it."""

__version__ = "0.1.0"
