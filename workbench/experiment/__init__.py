"""Control groups and outcome measurement: assignment, outcomes, statistics, power."""
