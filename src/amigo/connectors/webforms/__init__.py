"""Web sign-up forms and tracked interactions, and their mapping to facts."""
