"""csm-agent prompts."""
