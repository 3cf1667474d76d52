"""phta.web — see DESIGN.md."""
