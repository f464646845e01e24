"""The canonical core: pure data and rules that every protocol and backend speaks.

Nothing here does I/O or imports another openscope package.
"""
