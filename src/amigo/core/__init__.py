"""Settings, storage, errors and time: what every domain stands on."""
