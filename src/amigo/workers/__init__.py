"""Background work an API process runs beside its requests (`amigo serve`)."""
