"""phta.evaluation — see DESIGN.md."""
