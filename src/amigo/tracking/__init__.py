"""The Segment-compatible tracking API: sources and their write keys, raw messages, stitching."""
