"""Domain logic: pure decisions over models, called by handlers, the shim and the plugin."""
