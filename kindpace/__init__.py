"""kindpace: the command line and its configuration."""
