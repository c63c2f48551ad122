-- Drafting: editable prompt templates (versioned by content hash), the answer cache,
-- draft runs with their drafts (edits kept beside the original) and one trace per call.
CREATE TABLE IF NOT EXISTS wb.prompt_templates (
    name      VARCHAR NOT NULL,
    seq       INTEGER NOT NULL,
    version   VARCHAR NOT NULL,
    text      VARCHAR NOT NULL,
    saved_at  TIMESTAMP NOT NULL,
    saved_by  VARCHAR NOT NULL,
    PRIMARY KEY (name, seq)
);

CREATE TABLE IF NOT EXISTS wb.draft_cache (
    cache_key         VARCHAR PRIMARY KEY,
    model             VARCHAR NOT NULL,
    template_version  VARCHAR NOT NULL,
    packet_hash       VARCHAR NOT NULL,
    outcome           VARCHAR NOT NULL,
    answer            VARCHAR NOT NULL,
    created_at        TIMESTAMP NOT NULL
);

-- Run ids from a sequence: two sessions starting a run at once never pick the same id.
CREATE SEQUENCE IF NOT EXISTS wb.draft_run_ids START 1;

CREATE TABLE IF NOT EXISTS wb.draft_runs (
    run_id            INTEGER PRIMARY KEY,
    started_at        TIMESTAMP NOT NULL,
    finished_at       TIMESTAMP,
    workflow_name     VARCHAR NOT NULL,
    workflow_version  INTEGER,
    as_of             DATE NOT NULL,
    data_version      VARCHAR,
    action_type       VARCHAR NOT NULL,
    drafter           VARCHAR NOT NULL,
    accounts          INTEGER NOT NULL,
    cancelled         BOOLEAN NOT NULL DEFAULT false,
    note              VARCHAR
);

CREATE TABLE IF NOT EXISTS wb.drafts (
    run_id            INTEGER NOT NULL,
    account_id        VARCHAR NOT NULL,
    position          INTEGER NOT NULL,
    account_name      VARCHAR NOT NULL,
    action_type       VARCHAR NOT NULL,
    route             VARCHAR NOT NULL,
    packet_route      VARCHAR NOT NULL,
    outcome           VARCHAR NOT NULL,
    drafter           VARCHAR NOT NULL,
    template_version  VARCHAR NOT NULL,
    packet_hash       VARCHAR NOT NULL,
    packet_text       VARCHAR NOT NULL,
    subject           VARCHAR NOT NULL,
    body              VARCHAR NOT NULL,
    summary           VARCHAR NOT NULL,
    rationale         VARCHAR NOT NULL,
    confidence        DOUBLE,
    held              BOOLEAN NOT NULL,
    needs_human       BOOLEAN NOT NULL,
    note              VARCHAR NOT NULL,
    checks            VARCHAR NOT NULL,
    edited_subject    VARCHAR,
    edited_body       VARCHAR,
    edited_by         VARCHAR,
    edited_at         TIMESTAMP,
    PRIMARY KEY (run_id, account_id)
);

CREATE TABLE IF NOT EXISTS wb.draft_traces (
    run_id            INTEGER NOT NULL,
    account_id        VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    template_version  VARCHAR NOT NULL,
    packet_hash       VARCHAR NOT NULL,
    outcome           VARCHAR NOT NULL,
    tokens_in         INTEGER NOT NULL,
    tokens_out        INTEGER NOT NULL,
    cost_usd          DOUBLE,
    latency_ms        DOUBLE NOT NULL,
    attempts          INTEGER NOT NULL,
    requests          INTEGER NOT NULL,
    error             VARCHAR,
    redacted          BOOLEAN NOT NULL,
    sent              VARCHAR NOT NULL,
    received          VARCHAR,
    traced_at         TIMESTAMP NOT NULL
);
