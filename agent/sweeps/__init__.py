"""Portfolio sweeps: the sweep that runs every account through the graph, the store that keeps
accounts, snapshots and alerts, and the portfolio report."""
