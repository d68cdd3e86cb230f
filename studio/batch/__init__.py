"""Batch export: a product catalog × a prompt template × a variant matrix, resumable."""
