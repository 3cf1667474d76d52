"""phta.engines — see DESIGN.md."""
