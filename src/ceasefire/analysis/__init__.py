"""Analyses of a scenario: why (explain, claims), what would change it (levers, price of peace),
which assumptions matter (sensitivity) and where outcomes fall (scenario discovery)."""
