-- Resident deliberation (民主议事厅), owned by `deliberation`: a matter too big for one
-- party (a parking plan, a lift installation) with its agenda and affected scope (no
-- buildings and no flats: the whole compound), its participants (the registry's parties
-- and invited households), the opinions collected while it is open, one vote per
-- affected household (and per listed party when the matter says so), and the decision
-- recorded with its tally, published as an announcement and archived.
CREATE TABLE deliberations (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    compound_id         text NOT NULL REFERENCES compounds (id),
    title               text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description         text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    agenda              text[] NOT NULL DEFAULT '{}',
    buildings           text[] NOT NULL DEFAULT '{}',
    flats               text[] NOT NULL DEFAULT '{}',
    -- The share of the electorate that must cast a vote for the tally to count.
    quorum_num          integer NOT NULL,
    quorum_den          integer NOT NULL,
    organisations_vote  boolean NOT NULL DEFAULT false,
    votes_changeable    boolean NOT NULL DEFAULT false,
    status              text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'open', 'voting', 'decided', 'archived')),
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL,
    opened_at           timestamptz,
    voting_at           timestamptz,
    decided_at          timestamptz,
    decided_by          text,
    decision            text CHECK (length(decision) BETWEEN 1 AND 4000),
    outcome             text CHECK (outcome IN ('passed', 'rejected', 'no_quorum')),
    electorate          integer,
    votes_for           integer,
    votes_against       integer,
    abstentions         integer,
    announcement_id     bigint REFERENCES announcements (id),
    published_at        timestamptz,
    archived_at         timestamptz,
    archived_by         text,
    CHECK (quorum_den > 0 AND quorum_num BETWEEN 0 AND quorum_den),
    CHECK ((status IN ('decided', 'archived')) = (outcome IS NOT NULL))
);
CREATE INDEX deliberations_compound ON deliberations (compound_id, created_at DESC);

-- Participants: a party of the registry (its name as the registry had it when added)
-- or an invited household (it may give opinions; only affected households vote).
CREATE TABLE deliberation_participants (
    deliberation_id  bigint NOT NULL REFERENCES deliberations (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('party', 'household')),
    ref              text NOT NULL,  -- the party's id or the household's flat
    name             text NOT NULL,
    added_by         text NOT NULL,
    added_at         timestamptz NOT NULL,
    PRIMARY KEY (deliberation_id, kind, ref)
);

-- Opinions: a household's (written by one of its residents) or a party's (recorded by
-- the staff member running the matter), optionally about one agenda item (1-based).
CREATE TABLE deliberation_opinions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deliberation_id  bigint NOT NULL REFERENCES deliberations (id) ON DELETE CASCADE,
    author_kind      text NOT NULL CHECK (author_kind IN ('party', 'household')),
    author           text NOT NULL,  -- the party's id or the household's flat
    agenda_item      integer CHECK (agenda_item >= 1),
    body             text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    recorded_by      text NOT NULL,  -- res-<id> or the staff member's username
    at               timestamptz NOT NULL
);
CREATE INDEX deliberation_opinions_matter ON deliberation_opinions (deliberation_id, at);

-- One ballot per household (or party): its latest choice, who cast it, when.
CREATE TABLE deliberation_votes (
    deliberation_id  bigint NOT NULL REFERENCES deliberations (id) ON DELETE CASCADE,
    voter_kind       text NOT NULL CHECK (voter_kind IN ('party', 'household')),
    voter            text NOT NULL,
    choice           text NOT NULL CHECK (choice IN ('for', 'against', 'abstain')),
    recorded_by      text NOT NULL,
    cast_at          timestamptz NOT NULL,
    changed_at       timestamptz,
    PRIMARY KEY (deliberation_id, voter_kind, voter)
);
