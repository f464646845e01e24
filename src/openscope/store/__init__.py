"""Durable state (stored responses, conversations, keys, usage). Arrives with the
Responses API issue."""
