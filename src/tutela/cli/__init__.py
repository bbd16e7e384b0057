"""The tutela command line."""
