"""The six-step assessment: the LangGraph graph (context, state, graph, nodes), the writer that
renders the reports from the state, and the model prose held to the tools' numbers."""
