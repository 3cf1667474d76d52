"""phta.audit — see DESIGN.md."""
