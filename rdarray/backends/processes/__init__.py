"""The processes backend: the driver, its workers, and the messages between them."""
