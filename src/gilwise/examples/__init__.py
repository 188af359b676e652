"""Small programs that show what the monitor finds: ``gilwise run -m gilwise.examples.NAME``."""
