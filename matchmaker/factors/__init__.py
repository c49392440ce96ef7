"""The emission-factor library: published, citable factors shipped with the package, one version per file,
loaded into the database and never changed once loaded (a correction is a new version)."""
