-- Which accounts a workflow version fired on, per data version: the preview's
-- "what changed since the previous data refresh".
CREATE TABLE IF NOT EXISTS wb.preview_snapshots (
    workflow_name    VARCHAR NOT NULL,
    workflow_sha256  VARCHAR NOT NULL,
    data_version     VARCHAR NOT NULL,
    as_of            DATE NOT NULL,
    taken_at         TIMESTAMP NOT NULL,
    fired            VARCHAR[] NOT NULL,
    PRIMARY KEY (workflow_name, workflow_sha256, data_version, as_of)
);
