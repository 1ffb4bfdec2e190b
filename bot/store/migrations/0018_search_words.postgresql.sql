-- Every word (lexeme) the articles' search vectors hold or have held, so that a last word searched as a
-- prefix ('offic':*) becomes the words it begins ('offic' | 'offici'): the GIN index looks each of those
-- up directly (0.6 ms for "championships office*" at 100,000 articles), while a prefix makes it collect
-- every posting list under the prefix into a bitmap first, for each search (4.5 ms; 8–11 ms in an "any
-- word" search). A word stays when its last article goes: a word no article holds matches nothing, so
-- the expansion still finds exactly what the prefix finds. "C" order: a prefix is a range of the key.
CREATE TABLE search_words (word text COLLATE "C" PRIMARY KEY);

-- Statement triggers: a batch's words in one sorted insert (two writers adding the same new words wait
-- for each other in the same order, never deadlock); `newsdesk copy`'s COPY batches fire them too.
CREATE FUNCTION search_words_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w.word FROM added a CROSS JOIN LATERAL unnest(tsvector_to_array(a.search_vector)) AS w(word)
    ORDER BY w.word
    ON CONFLICT (word) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_words_inserted AFTER INSERT ON articles REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION search_words_added();
CREATE TRIGGER search_words_updated AFTER UPDATE ON articles REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION search_words_added();

INSERT INTO search_words (word)
SELECT DISTINCT w.word FROM articles a CROSS JOIN LATERAL unnest(tsvector_to_array(a.search_vector)) AS w(word)
ORDER BY w.word;

-- The planner's estimate of the articles matching `q` (EXPLAIN; the column's statistics know the most
-- common words, any other is rare). VOLATILE: EXPLAIN is refused in a STABLE function.
CREATE FUNCTION search_matches_estimate(q text) RETURNS float8 LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM articles a WHERE a.search_vector @@ %L::tsquery', q)
        INTO plan;
    RETURN greatest((plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8, 1);
END
$$;

-- search_candidates (0017) again, with three changes:
-- * The query's prefixes become the words they begin (above), for the GIN index only: `matching` finds
--   the same articles as `q`, and ts_rank_cd still ranks with `q`. Not when a prefix begins more than 128
--   words (a one-letter prefix: the list would cost more than the bitmap), nor when the query or the words
--   hold a quote or a backslash (the query's text is rewritten, and such text is not searched for).
-- * One window instead of widening from `first_span`: the estimate of the matches sizes it to hold about
--   twice `wanted` (at least `first_span` ids), and the whole index when that is more than half of it.
--   Each widening read the GIN index again; it widens still when the estimate was too high, as far as the
--   matches it found say it must.
--   Words searched together often come together ("election prime": 6,240 articles where independent
--   words would make 1,146), so the estimate of an AND is that of its rarest part, never less: a window
--   too wide costs a visit to every match in it, one too narrow a cheap widening.
-- * The matches are ranked as they are taken from a window (no second visit of the primary key for
--   them; a window that holds too few is rare now, and then ranked again).
-- VOLATILE: it calls search_matches_estimate.
CREATE OR REPLACE FUNCTION search_candidates(q tsquery, scopes bigint[], wanted integer, first_span bigint)
RETURNS TABLE (id bigint, score float4) LANGUAGE plpgsql VOLATILE
SET enable_indexscan = off SET enable_seqscan = off SET max_parallel_workers_per_gather = 0
SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    newest bigint;
    matching text := q::text;
    operand text[];
    expansion text;
    words integer;
    odd integer;
    parts text[] := '{}';
    part_start integer := 1;
    depth integer := 0;
    quoted boolean := false;
    either boolean := false;
    c text;
    estimate float8;
    span bigint;
    found bigint[];
    scores float4[];
BEGIN
    -- The newest id from the primary key's last entry, the words from search_words' (a change inside
    -- the function is undone with it).
    PERFORM set_config('enable_indexscan', 'on', true);
    SELECT max(a.id) INTO newest FROM articles a;
    IF newest IS NULL THEN
        RETURN;
    END IF;
    IF strpos(matching, '''''') = 0 AND strpos(matching, '\') = 0 THEN
        -- Each quoted word of the query's text, in order, with its marks (':*' for a prefix).
        FOR operand IN SELECT r FROM regexp_matches(matching, '''([^'']*)''(:[*A-D]+)?', 'g') AS r LOOP
            CONTINUE WHEN operand[2] IS DISTINCT FROM ':*';
            SELECT string_agg('''' || s.word || '''', ' | '), count(*),
                   count(*) FILTER (WHERE strpos(s.word, '''') > 0 OR strpos(s.word, '\') > 0)
            INTO expansion, words, odd
            FROM (SELECT sw.word FROM search_words sw WHERE sw.word ^@ operand[1] LIMIT 129) s;
            IF words BETWEEN 1 AND 128 AND odd = 0 THEN
                matching := replace(matching, '''' || operand[1] || ''':*', '(' || expansion || ')');
            END IF;
        END LOOP;
        -- The parts of an AND at the top of the query (none when an OR is there: '&' binds tighter).
        FOR i IN 1 .. length(matching) LOOP
            c := substr(matching, i, 1);
            IF c = '''' THEN
                quoted := NOT quoted;
            ELSIF quoted THEN
                CONTINUE;
            ELSIF c = '(' THEN
                depth := depth + 1;
            ELSIF c = ')' THEN
                depth := depth - 1;
            ELSIF c = '|' AND depth = 0 THEN
                either := true;
            ELSIF c = '&' AND depth = 0 THEN
                parts := parts || substr(matching, part_start, i - part_start);
                part_start := i + 1;
            END IF;
        END LOOP;
    END IF;
    PERFORM set_config('enable_indexscan', 'off', true);
    IF cardinality(parts) > 0 AND NOT either THEN
        SELECT min(search_matches_estimate(p)) INTO estimate FROM unnest(parts || substr(matching, part_start)) AS p;
    ELSE
        estimate := search_matches_estimate(matching);
    END IF;
    span := greatest(first_span, ceil(2 * wanted * newest / estimate))::bigint;
    IF span * 2 >= newest THEN
        span := newest;
    END IF;
    LOOP
        -- Two statements, not "scopes IS NULL OR EXISTS": an EXISTS under OR is no semi-join, and the
        -- planner may hash every visible article's scope row for it.
        IF scopes IS NULL THEN
            SELECT array_agg(m.id), array_agg(ts_rank_cd('{0.1, 0.2, 0.25, 1.0}', m.search_vector, q, 1))
            INTO found, scores
            FROM (
                SELECT a.id, a.search_vector FROM articles a
                WHERE a.id > newest - span AND a.search_vector @@ matching::tsquery
                ORDER BY a.id DESC LIMIT wanted
            ) m;
        ELSE
            -- The window's matches newest first (OFFSET 0 keeps the planner from merging the two), each
            -- checked until enough are seen: not every match in the window.
            SELECT array_agg(m.id), array_agg(ts_rank_cd('{0.1, 0.2, 0.25, 1.0}', m.search_vector, q, 1))
            INTO found, scores
            FROM (
                SELECT w.id, w.search_vector FROM (
                    SELECT a.id, a.search_vector FROM articles a
                    WHERE a.id > newest - span AND a.search_vector @@ matching::tsquery
                    ORDER BY a.id DESC OFFSET 0
                ) w
                WHERE EXISTS (
                    SELECT 1 FROM article_scopes vs WHERE vs.article_id = w.id AND vs.scope = ANY (scopes))
                ORDER BY w.id DESC LIMIT wanted
            ) m;
        END IF;
        found := coalesce(found, '{}');
        EXIT WHEN cardinality(found) >= wanted OR newest - span <= 0;
        -- Wide enough for the density of matches this window showed, or eight times as wide when it
        -- showed none; the whole index rather than most of it (its window would cost more than it saves).
        span := CASE WHEN cardinality(found) = 0 THEN span * 8
                     ELSE greatest(span * 2, ceil(1.5 * span * wanted / cardinality(found))::bigint) END;
        IF span * 2 >= newest THEN
            span := newest;
        END IF;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(found, scores);
END
$$;
