"""phta.governance — see DESIGN.md."""
