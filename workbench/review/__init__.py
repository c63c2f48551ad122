"""Review: shadow runs, review decisions, approval metrics and the autonomy gate."""
