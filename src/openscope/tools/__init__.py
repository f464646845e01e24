"""Built-in server-side tools (code interpreter, web search, ...), each behind one
interface. Arrives with the built-in tools issue."""
