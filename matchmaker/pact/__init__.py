"""PACT (WBCSD PCF exchange): pull footprints from hosts, serve published offers as a v3 host."""
