"""The seeded sample book of business that feeds ``sample_data/`` and test fixtures."""

from workbench.samplebook.generator import generate_book
from workbench.samplebook.schema import AS_OF, FILES, HEADERS, SEED, SampleFile
from workbench.samplebook.write import write_sample

__all__ = ["AS_OF", "FILES", "HEADERS", "SEED", "SampleFile", "generate_book", "write_sample"]
