"""The planning steps of the assessment: stakeholder map, success plan, expansion proposal,
risk mitigation plan and forecast."""
