"""The seeded sample book of business that feeds ``sample_data/`` and test fixtures."""

from workbench.samplebook.generator import (
    AS_OF,
    FILES,
    HEADERS,
    SEED,
    SampleFile,
    generate_book,
    write_sample,
)

__all__ = ["AS_OF", "FILES", "HEADERS", "SEED", "SampleFile", "generate_book", "write_sample"]
