"""Domain events: the CloudEvents envelope and the transactional outbox."""
