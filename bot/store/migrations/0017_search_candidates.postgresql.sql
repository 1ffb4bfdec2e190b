-- The most recent matches of a search, ranked, without visiting every match. An article's search_vector
-- (title and body) is stored out of line (TOAST): the planner, which does not count that, walks the
-- primary key newest first and reads every article's vector until it has found enough matches — for a
-- word in few recent articles, nearly the whole index (440 ms at 100,000 articles). Here the matches
-- come from the GIN index ANDed with a window of the `first_span` newest ids (a bitmap, no vector
-- read), widened eightfold until it holds `wanted` matches the viewer sees; only those are read and ranked.
-- ts_rank_cd's weights of the D, C, B (body) and A (title) labels: a title word weighs four body words,
-- as SQLite's bm25(articles_fts, 4.0, 1.0); normalisation 1 divides by 1 + log(length).
-- `scopes` NULL: every article; else those with a row in article_scopes for one of them.
-- The planner's settings hold inside the function only (restored when it returns): no primary-key or
-- sequential walk that reads vectors, no parallel workers for a few thousand rows, and the viewer's
-- scopes checked match by match (a nested loop) rather than every visible article hashed.
CREATE FUNCTION search_candidates(q tsquery, scopes bigint[], wanted integer, first_span bigint)
RETURNS TABLE (id bigint, score float4) LANGUAGE plpgsql STABLE
SET enable_indexscan = off SET enable_seqscan = off SET max_parallel_workers_per_gather = 0
SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    newest bigint;
    span bigint := first_span;
    found bigint[];
BEGIN
    -- The newest id from the primary key's last entry (a change inside the function is undone with it).
    PERFORM set_config('enable_indexscan', 'on', true);
    SELECT max(a.id) INTO newest FROM articles a;
    PERFORM set_config('enable_indexscan', 'off', true);
    IF newest IS NULL THEN
        RETURN;
    END IF;
    LOOP
        -- Two statements, not "scopes IS NULL OR EXISTS": an EXISTS under OR is no semi-join, and the
        -- planner may hash every visible article's scope row for it.
        IF scopes IS NULL THEN
            found := ARRAY(
                SELECT a.id FROM articles a WHERE a.id > newest - span AND a.search_vector @@ q
                ORDER BY a.id DESC LIMIT wanted);
        ELSE
            -- The window's matches newest first (OFFSET 0 keeps the planner from merging the two), each
            -- checked until enough are seen: not every match in the window.
            found := ARRAY(
                SELECT m.id FROM (
                    SELECT a.id FROM articles a WHERE a.id > newest - span AND a.search_vector @@ q
                    ORDER BY a.id DESC OFFSET 0
                ) m
                WHERE EXISTS (
                    SELECT 1 FROM article_scopes vs WHERE vs.article_id = m.id AND vs.scope = ANY (scopes))
                ORDER BY m.id DESC LIMIT wanted);
        END IF;
        EXIT WHEN cardinality(found) >= wanted OR newest - span <= 0;
        span := span * 8;
    END LOOP;
    RETURN QUERY
        SELECT a.id, ts_rank_cd('{0.1, 0.2, 0.25, 1.0}', a.search_vector, q, 1)
        FROM articles a WHERE a.id = ANY (found);
END
$$;
