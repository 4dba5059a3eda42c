"""One router per domain; each translates HTTP to a service call and back."""
