"""The resource API: versioned pydantic models that are also the CRD schemas."""
