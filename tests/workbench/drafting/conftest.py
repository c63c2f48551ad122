"""The sample book with the default workflow's preview, shared by the drafting tests."""

import pytest

from tests.llm_server import LLMServer
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.preview import preview


@pytest.fixture(scope="session")
def book(sample_book):
    wf = parse_workflow(default_workflow_text())
    return sample_book, wf, preview(sample_book, wf, default_as_of(sample_book))


@pytest.fixture(scope="module")
def server():
    """One loopback model server per module (starting and stopping one costs time)."""
    with LLMServer() as s:
        yield s
