"""csm-agent agent."""
