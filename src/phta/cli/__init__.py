"""phta.cli — see DESIGN.md."""
