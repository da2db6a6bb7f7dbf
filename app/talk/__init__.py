"""Talk, the agents' own chat: talks, participants, messages, threads, reactions,
and the v1.0 API for them."""
