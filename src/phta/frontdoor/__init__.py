"""phta.frontdoor — see DESIGN.md."""
