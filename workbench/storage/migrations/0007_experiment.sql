-- Control groups: one experiment per allocation of a workflow (a changed allocation, salt or
-- ARR bands starts a new one) and the arm each eligible account was assigned, with the
-- pre-period covariates as they were at assignment. workbench/experiment/ writes these.
CREATE SEQUENCE IF NOT EXISTS wb.experiment_ids START 1;

CREATE TABLE IF NOT EXISTS wb.experiments (
    experiment_id     INTEGER PRIMARY KEY,
    workflow_name     VARCHAR NOT NULL,
    salt              VARCHAR NOT NULL,
    allocation        VARCHAR NOT NULL,   -- JSON: {"ai": 45, "csm": 45, "control": 10}
    arr_bands         VARCHAR NOT NULL,   -- JSON: [25000, 100000]
    started_at        TIMESTAMP NOT NULL,
    started_by        VARCHAR NOT NULL,
    started_version   INTEGER,
    started_run       INTEGER,
    ended_at          TIMESTAMP,
    reason            VARCHAR NOT NULL
);

-- One row per account and experiment: an account keeps its arm across runs.
CREATE TABLE IF NOT EXISTS wb.assignments (
    experiment_id     INTEGER NOT NULL,
    account_id        VARCHAR NOT NULL,
    arm               VARCHAR NOT NULL,   -- ai | csm | control
    stratum           VARCHAR NOT NULL,   -- segment x ARR band, e.g. "SMB · under 25,000"
    position          INTEGER NOT NULL,   -- order of entry within the stratum (0-based)
    segment           VARCHAR,
    arr               DOUBLE,
    health_score      DOUBLE,
    run_id            INTEGER NOT NULL,
    assigned_on       DATE NOT NULL,      -- the as-of date of the run that assigned it
    assigned_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (experiment_id, account_id)
);

-- Guardrail findings: the AI arm significantly worse on a guardrail metric. One row per
-- finding and data version, so re-analysing the same data does not repeat it.
CREATE TABLE IF NOT EXISTS wb.guardrail_flags (
    experiment_id     INTEGER NOT NULL,
    metric            VARCHAR NOT NULL,
    baseline          VARCHAR NOT NULL,   -- control | csm
    data_version      VARCHAR NOT NULL,
    flagged_at        TIMESTAMP NOT NULL,
    sentence          VARCHAR NOT NULL,
    figures           VARCHAR NOT NULL,   -- JSON: the comparison's numbers
    PRIMARY KEY (experiment_id, metric, baseline, data_version)
);

-- Which arm an action's account was in (NULL: human or manager route, outside the experiment).
ALTER TABLE wb.actions ADD COLUMN arm VARCHAR;
