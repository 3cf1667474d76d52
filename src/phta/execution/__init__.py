"""phta.execution — see DESIGN.md."""
