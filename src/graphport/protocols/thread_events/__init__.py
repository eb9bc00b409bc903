"""Thread event streaming ("protocol v2", issue 17): the wire layer so far — command
envelopes, stream request bodies, channel and namespace filters. Not routed yet."""
