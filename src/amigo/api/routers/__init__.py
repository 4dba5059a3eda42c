"""One router per domain, mounted by create_app."""
