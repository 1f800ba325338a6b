"""csm-agent tools."""
