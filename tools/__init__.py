"""csm-agent's deterministic domain logic, pure functions over pydantic models: accounts and
portfolio files (`portfolio/`), scores (`scoring/`), the planning steps (`planning/`) and the
knowledge base (`knowledge/`); the playbook model and small shared helpers live at the top. Never
imports `agent`, LangChain or LangGraph (checked by lint-imports)."""
