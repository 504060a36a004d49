"""Role matching's services: syncing postings (``sync``) and their Karat roles (``mappings``)."""
