"""The sample book, shared by the workflow tests that read it (see ``sample_book``)."""

import pytest


@pytest.fixture(scope="session")
def sample(sample_book):
    return sample_book
