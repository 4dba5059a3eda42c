"""The `amigo` command: thin adapters over the domain services."""
