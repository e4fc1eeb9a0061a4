"""PPEDCRF: location-sensitivity, a dynamic CRF over background regions, a normalized control
penalty, and bounded noise that goes only where the background gives the place away."""
