"""phta.store — see DESIGN.md."""
