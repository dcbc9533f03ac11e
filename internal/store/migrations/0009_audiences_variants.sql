-- Segments stored by name (`starter segments save`), so that
-- `starter start --segment NAME` needs no file. The definition is the
-- segment's YAML text, parsed and checked again whenever it is used.
create table segments (
    name        text primary key,
    description text not null default '',
    definition  text not null,
    updated_at  timestamptz not null default now()
);

-- The variant a split step assigned to the customer, on every touch of that
-- journey entry after the split; null for journeys without a split. The
-- report compares variants side by side from this column.
alter table touches add column variant text;
create index touches_journey_variant on touches (journey, variant) where variant is not null;
