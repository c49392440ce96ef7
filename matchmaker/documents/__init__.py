"""Documents people upload as evidence: business licences now, verification reports next."""
