"""Sessions of the web pages, held on the server: begun at sign-in; ended at sign-out, key revocation,
suspension or expiry."""
