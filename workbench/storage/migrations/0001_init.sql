-- Workbench metadata lives in schema wb; imported data lives in main.
CREATE SCHEMA IF NOT EXISTS wb;

CREATE TABLE IF NOT EXISTS wb.import_history (
    import_id     BIGINT PRIMARY KEY,
    imported_at   TIMESTAMP NOT NULL,
    table_name    VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    mode          VARCHAR NOT NULL,      -- create | replace | append | delete
    file_name     VARCHAR NOT NULL,
    file_sha256   VARCHAR NOT NULL,
    sheet         VARCHAR,
    mapping_json  VARCHAR NOT NULL,      -- source header -> canonical column
    options_json  VARCHAR NOT NULL,      -- date order, decimal, profile, skipped rows
    rows_in_file  BIGINT NOT NULL,
    rows_imported BIGINT NOT NULL,
    rows_skipped  BIGINT NOT NULL,
    rows_in_table BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS wb.mapping_profiles (
    name          VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,
    mapping_json  VARCHAR NOT NULL,
    options_json  VARCHAR NOT NULL,
    headers_json  VARCHAR NOT NULL,      -- the source headers it was made from
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS wb.tables (
    table_name    VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
