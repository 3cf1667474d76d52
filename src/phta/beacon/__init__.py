"""phta.beacon — see DESIGN.md."""
