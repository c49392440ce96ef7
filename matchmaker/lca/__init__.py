"""LCA results imported as footprints: openLCA JSON-LD zips (olca-schema v1 and v2) and ILCD data sets
(ILCD+EPD too), one offer per product, each with where it came from; a bad data set is reported and the rest
imported."""
