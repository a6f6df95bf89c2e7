"""The Arrow schemas of every stored table, versioned, in one place."""
