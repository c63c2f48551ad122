-- Workflow versions: policy-as-code, append-only. Restoring an old version saves it anew.
CREATE TABLE IF NOT EXISTS wb.workflow_versions (
    workflow_name VARCHAR NOT NULL,
    version       INTEGER NOT NULL,      -- 1, 2, 3 ... per workflow name
    saved_at      TIMESTAMP NOT NULL,
    author        VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    yaml          VARCHAR NOT NULL,      -- as the author wrote it, comments kept
    sha256        VARCHAR NOT NULL,      -- of the normalised YAML: same content, same hash
    PRIMARY KEY (workflow_name, version)
);
