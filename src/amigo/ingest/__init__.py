"""Load framework: readers, batches, validation, rejects, checkpoints, phases."""
