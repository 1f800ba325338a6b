"""csm-agent knowledge."""
