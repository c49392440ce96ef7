"""Server-rendered pages for buyers, vendors and the operator, in Simplified Chinese and English."""
