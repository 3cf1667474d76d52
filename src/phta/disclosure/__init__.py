"""phta.disclosure — see DESIGN.md."""
