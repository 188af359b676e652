"""The tour's lessons, in order. Each is a short module meant to be read as an example."""
