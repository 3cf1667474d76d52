"""phta.query — see DESIGN.md."""
