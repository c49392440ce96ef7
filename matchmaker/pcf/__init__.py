"""PCF accounting, the platform's second step: an offer's footprint calculated from its bill of materials with
the factor library (`calculator`, pure), saved as a draft footprint marked "calculated, not verified", and
calculated again when a newer library version would change it."""
