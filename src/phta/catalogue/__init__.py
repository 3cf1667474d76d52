"""phta.catalogue — see DESIGN.md."""
