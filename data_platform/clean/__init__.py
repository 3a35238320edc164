"""In-document cleaning stages: line rules, URL block lists, PII redaction."""
