-- Shadow mode and the review queue: runs, the actions they propose (immutable once written),
-- one decision per reviewed action, mode changes, the outbox of autonomous actions and the
-- gate's verdicts over time. workbench/review/ writes and reads these.
CREATE SEQUENCE IF NOT EXISTS wb.review_run_ids START 1;

-- Workspaces made before 0004 gained its run-id sequence lack it (0004 had already run):
-- create it here, starting far above any run id such a workspace holds.
CREATE SEQUENCE IF NOT EXISTS wb.draft_run_ids START 100000;

CREATE TABLE IF NOT EXISTS wb.review_runs (
    run_id            INTEGER PRIMARY KEY,
    started_at        TIMESTAMP NOT NULL,
    actor             VARCHAR NOT NULL,
    workflow_name     VARCHAR NOT NULL,
    workflow_version  INTEGER,
    as_of             DATE NOT NULL,
    window_start      DATE NOT NULL,
    data_version      VARCHAR,
    mode              VARCHAR NOT NULL,
    draft_run_id      INTEGER,
    fired             INTEGER NOT NULL,
    proposed          INTEGER NOT NULL,
    skipped           INTEGER NOT NULL,
    to_review         INTEGER NOT NULL,
    to_outbox         INTEGER NOT NULL,
    skipped_detail    VARCHAR NOT NULL,   -- JSON: reason -> count
    sentence          VARCHAR NOT NULL
);

-- action_key is the idempotency key (workflow, version, account, action, window): a second
-- run in the same window cannot add the same action twice.
CREATE TABLE IF NOT EXISTS wb.actions (
    action_key        VARCHAR PRIMARY KEY,
    run_id            INTEGER NOT NULL,
    position          INTEGER NOT NULL,
    workflow_name     VARCHAR NOT NULL,
    workflow_version  INTEGER,
    as_of             DATE NOT NULL,
    window_start      DATE NOT NULL,
    account_id        VARCHAR NOT NULL,
    account_name      VARCHAR NOT NULL,
    segment           VARCHAR,
    arr               DOUBLE,
    route             VARCHAR NOT NULL,
    action_type       VARCHAR NOT NULL,
    assignee          VARCHAR,
    reasons           VARCHAR NOT NULL,
    subject           VARCHAR NOT NULL,
    body              VARCHAR NOT NULL,
    draft_outcome     VARCHAR NOT NULL,
    held              BOOLEAN NOT NULL,
    destination       VARCHAR NOT NULL,   -- review | outbox
    sampled           BOOLEAN NOT NULL,   -- autonomous mode: sent to review as a sample
    mode              VARCHAR NOT NULL,
    created_at        TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS wb.reviews (
    action_key        VARCHAR PRIMARY KEY, -- one decision per action
    decision          VARCHAR NOT NULL,    -- approved | edited | rejected
    reason            VARCHAR,             -- required for rejected
    comment           VARCHAR NOT NULL,
    reviewer          VARCHAR NOT NULL,
    decided_at        TIMESTAMP NOT NULL,
    source            VARCHAR NOT NULL,    -- app | spreadsheet | cli | simulated
    edited_subject    VARCHAR,
    edited_body       VARCHAR,
    diff              VARCHAR,
    edit_distance     INTEGER,
    edit_ratio        DOUBLE
);

CREATE TABLE IF NOT EXISTS wb.mode_changes (
    workflow_name     VARCHAR NOT NULL,
    seq               INTEGER NOT NULL,
    from_mode         VARCHAR NOT NULL,
    to_mode           VARCHAR NOT NULL,
    actor             VARCHAR NOT NULL,
    reason            VARCHAR NOT NULL,
    changed_at        TIMESTAMP NOT NULL,
    override          BOOLEAN NOT NULL,
    gate_sentence     VARCHAR NOT NULL,
    workflow_version  INTEGER,
    PRIMARY KEY (workflow_name, seq)
);

-- Autonomous actions waiting for whoever carries them out. Nothing here is ever sent.
CREATE TABLE IF NOT EXISTS wb.outbox (
    action_key        VARCHAR PRIMARY KEY,
    queued_at         TIMESTAMP NOT NULL,
    run_id            INTEGER NOT NULL,
    workflow_name     VARCHAR NOT NULL,
    account_id        VARCHAR NOT NULL,
    account_name      VARCHAR NOT NULL,
    action_type       VARCHAR NOT NULL,
    assignee          VARCHAR,
    subject           VARCHAR NOT NULL,
    body              VARCHAR NOT NULL,
    via               VARCHAR NOT NULL     -- autonomous | approved_sample | approved_held
);

CREATE TABLE IF NOT EXISTS wb.gate_checks (
    workflow_name     VARCHAR NOT NULL,
    checked_at        TIMESTAMP NOT NULL,
    event             VARCHAR NOT NULL,    -- run | review | mode_change
    reviewed          INTEGER NOT NULL,
    approved          INTEGER NOT NULL,
    rate              DOUBLE,
    low               DOUBLE,
    high              DOUBLE,
    passes            BOOLEAN NOT NULL,
    status            VARCHAR NOT NULL,
    sentence          VARCHAR NOT NULL,
    target            DOUBLE NOT NULL,
    rule              VARCHAR NOT NULL,
    min_reviews       INTEGER NOT NULL
);
