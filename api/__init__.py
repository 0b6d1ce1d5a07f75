"""The webhook shim: monitoring tools post alerts here and they become Alert resources."""
