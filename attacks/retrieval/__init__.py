"""Background-retrieval geolocation: embed a photo or frame, find its nearest geo-tagged
neighbours in a faiss gallery, and vote on where it was taken (the PPEDCRF paper's attacker)."""
