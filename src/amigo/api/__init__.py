"""The HTTP app: public pages now; the versioned API (/v1) comes with its issue."""
