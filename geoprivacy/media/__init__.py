"""Media I/O: content sniffing, bounded byte sources, and (later) frame streaming."""
