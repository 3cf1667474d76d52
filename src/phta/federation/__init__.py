"""phta.federation — see DESIGN.md."""
