"""One folder per wire API; each decodes into the core and encodes core events back."""
