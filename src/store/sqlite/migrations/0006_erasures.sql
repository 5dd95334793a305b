-- Personal data erased on request: which partner, when, how many stored
-- event bodies lost their name and email. Keys, money and tags stay.
CREATE TABLE erasures (
    program   TEXT NOT NULL,
    partner   TEXT NOT NULL,
    erased_at TEXT NOT NULL,
    events    BIGINT NOT NULL,
    PRIMARY KEY (program, partner, erased_at)
);
