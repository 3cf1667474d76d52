"""phta.cdm — see DESIGN.md."""
