-- Each word's count of the articles holding it, for search_candidates to size its window from. The
-- planner's estimate (0018) knows only the column's 1,000 most common words and guesses 0.5 % of the
-- index for any other: at 100,000 articles "chelsea" (3,120 articles) was taken for 600, and the window
-- became the whole index, every match in it read (20 ms). A higher statistics target would know more
-- words, but every plan touching the column then reads the larger statistics (1.5 ms a plan at 10,000).
-- The count is exact, read from the primary key in a single statement for the whole query.
ALTER TABLE search_words ADD COLUMN articles integer NOT NULL DEFAULT 0;

UPDATE search_words sw SET articles = c.articles
FROM (
    SELECT w.word, count(*) AS articles
    FROM articles a CROSS JOIN LATERAL unnest(tsvector_to_array(a.search_vector)) AS w(word)
    GROUP BY w.word
) c
WHERE sw.word = c.word;

-- One function for the three statement triggers: each batch's change of every word's count in one sorted
-- upsert (writers changing the same words lock them in the same order, never deadlock); a word whose
-- last article goes stays, at 0, as in 0018. An UPDATE that leaves the vectors alone changes no count.
DROP TRIGGER search_words_inserted ON articles;
DROP TRIGGER search_words_updated ON articles;
DROP FUNCTION search_words_added();

CREATE FUNCTION search_words_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO search_words AS sw (word, articles)
        SELECT w.word, count(*) FROM added a CROSS JOIN LATERAL unnest(tsvector_to_array(a.search_vector)) AS w(word)
        GROUP BY w.word ORDER BY w.word
        ON CONFLICT (word) DO UPDATE SET articles = sw.articles + excluded.articles;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO search_words AS sw (word, articles)
        SELECT w.word, -count(*) FROM removed a CROSS JOIN LATERAL unnest(tsvector_to_array(a.search_vector)) AS w(word)
        GROUP BY w.word ORDER BY w.word
        ON CONFLICT (word) DO UPDATE SET articles = sw.articles + excluded.articles;
    ELSE
        INSERT INTO search_words AS sw (word, articles)
        SELECT c.word, sum(c.change) FROM (
            SELECT w.word, 1 AS change
            FROM added a CROSS JOIN LATERAL unnest(tsvector_to_array(a.search_vector)) AS w(word)
            UNION ALL
            SELECT w.word, -1
            FROM removed a CROSS JOIN LATERAL unnest(tsvector_to_array(a.search_vector)) AS w(word)
        ) c
        GROUP BY c.word HAVING sum(c.change) <> 0 ORDER BY c.word
        ON CONFLICT (word) DO UPDATE SET articles = sw.articles + excluded.articles;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_words_inserted AFTER INSERT ON articles REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION search_words_counted();
CREATE TRIGGER search_words_updated AFTER UPDATE ON articles REFERENCING OLD TABLE AS removed NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION search_words_counted();
CREATE TRIGGER search_words_deleted AFTER DELETE ON articles REFERENCING OLD TABLE AS removed
FOR EACH STATEMENT EXECUTE FUNCTION search_words_counted();

-- How many articles a query (its text, as search_candidates rewrote it) matches, from the counts of its
-- words: `bound`, at most how many (a word's count; an OR, the sum of its sides'; an AND or a phrase,
-- the smaller side's), and `estimate`, how many to expect: the same, but an AND expects its sides to
-- come independently (their shares of `everything` multiplied). Words searched together are not
-- independent ("election prime": 6,240 articles where independence makes 1,146; "speed party": none
-- where it makes 579), but the bound is further off still ("hold executives": 1,920 articles, 1,632
-- expected, at most 12,000), and search_candidates takes it as the worst case only. A phrase (a
-- hyphenated word is one) is taken as its rarest word: a compound's parts come with it. A NOT, a prefix
-- left unexpanded or a word with a quote or a backslash: anything up to `everything`. Exact for a word;
-- a bound of zero means no article can match.
-- tsquery's operators, tightest first: ! then <-> (<N>) then & then |.
CREATE FUNCTION search_matches_estimate(q text, everything float8, OUT estimate float8, OUT bound float8)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    tokens text[];
    marks text[];
    words boolean[];
    counts float8[];
    token text;
    bar integer;
    estimates float8[] := '{}';
    bounds float8[] := '{}';
    operators text[] := '{}';
    top text;
    last integer;
BEGIN
    estimate := everything;
    bound := everything;
    -- The words (quoted, with their marks: ':*' for a prefix) and the operators, in order.
    SELECT array_agg(coalesce(m[1], m[3]) ORDER BY n), array_agg(m[2] ORDER BY n), array_agg(m[3] IS NULL ORDER BY n)
    INTO tokens, marks, words
    FROM regexp_matches(q, '''((?:[^'']|'''')*)''(:[*A-D]+)?|(<->|<[0-9]+>|[&|!()])', 'g') WITH ORDINALITY AS t(m, n);
    IF tokens IS NULL THEN
        RETURN;
    END IF;
    SELECT array_agg(coalesce(sw.articles, 0) ORDER BY t.n) INTO counts
    FROM unnest(tokens) WITH ORDINALITY AS t(word, n) LEFT JOIN search_words sw ON sw.word = t.word;
    FOR i IN 1 .. cardinality(tokens) + 1 LOOP
        token := tokens[i];  -- NULL past the end
        IF words[i] THEN
            IF strpos(coalesce(marks[i], ''), '*') > 0 OR strpos(token, '''') > 0 OR strpos(token, '\') > 0 THEN
                counts[i] := everything;
            END IF;
            estimates := estimates || counts[i];
            bounds := bounds || counts[i];
            CONTINUE;
        ELSIF token IN ('(', '!') THEN
            operators := operators || token;
            CONTINUE;
        END IF;
        -- A binary operator, a ')' or the end: first apply the operators before it that bind at least as
        -- tightly (all of them back to the '(' for a ')' or the end).
        bar := CASE WHEN token IS NULL OR token = ')' THEN 0 WHEN token LIKE '<%' THEN 3 WHEN token = '&' THEN 2 ELSE 1 END;
        LOOP
            top := operators[cardinality(operators)];
            EXIT WHEN top IS NULL OR top = '('
                OR (CASE WHEN top = '!' THEN 4 WHEN top LIKE '<%' THEN 3 WHEN top = '&' THEN 2 ELSE 1 END) < bar;
            operators := trim_array(operators, 1);
            last := cardinality(bounds);
            IF top = '!' THEN
                estimates[last] := everything;
                bounds[last] := everything;
                CONTINUE;
            END IF;
            estimates[last - 1] := CASE
                WHEN top = '|' THEN least(estimates[last - 1] + estimates[last], everything)
                WHEN top = '&' THEN estimates[last - 1] * estimates[last] / everything
                ELSE least(estimates[last - 1], estimates[last]) END;
            bounds[last - 1] := CASE WHEN top = '|' THEN least(bounds[last - 1] + bounds[last], everything)
                                     ELSE least(bounds[last - 1], bounds[last]) END;
            estimates := trim_array(estimates, 1);
            bounds := trim_array(bounds, 1);
        END LOOP;
        IF token = ')' THEN
            operators := trim_array(operators, 1);
        ELSIF token IS NOT NULL THEN
            operators := operators || token;
        END IF;
    END LOOP;
    estimate := coalesce(estimates[1], everything);
    bound := coalesce(bounds[1], everything);
END
$$;

-- The vectors kept in their articles' rows (compressed, out of line only when a row would not fit its
-- page), no longer in the TOAST table: ranking a window's 300 matches read each vector's chunks through
-- the TOAST index (about four pages a vector, 1,250 of a search's 3,100 at 100,000 articles). The rows
-- are rewritten for it (CLUSTER: in id order, as they were appended; about 30 s at 100,000 articles,
-- with the table locked), and bot/store/postgres_schema.py vacuums after an upgrade, as a rewrite leaves
-- no page marked all-visible for index-only scans.
ALTER TABLE articles ALTER COLUMN search_vector SET STORAGE MAIN;
CLUSTER articles USING articles_pkey;
ALTER TABLE articles SET WITHOUT CLUSTER;

-- search_candidates (0018) again, with three changes:
-- * The first window is sized from the estimate above (1.5 times `wanted` matches in it where they are
--   spread evenly, the viewer's scopes hiding a few), the whole index taken when that costs less even
--   at the bound, and a query no article can match (a word no article holds) ends there.
-- * A window that holds too few is widened by the part before it only: the matches found so far stay,
--   ranked, and are not read again.
-- * The window's matches are sorted and checked for the viewer by id and row address only; the vectors,
--   now in the rows (2 kB each), are read for the ones ranked, by address (no index).
DROP FUNCTION search_matches_estimate(text);
CREATE OR REPLACE FUNCTION search_candidates(q tsquery, scopes bigint[], wanted integer, first_span bigint)
RETURNS TABLE (id bigint, score float4) LANGUAGE plpgsql STABLE
SET enable_indexscan = off SET enable_seqscan = off SET max_parallel_workers_per_gather = 0
SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    newest bigint;
    matching text := q::text;
    operand text[];
    expansion text;
    words integer;
    odd integer;
    estimate float8;
    bound float8;
    expected float8;
    phrase boolean;
    span bigint;
    above bigint;
    below bigint;
    found bigint[] := '{}';
    scores float4[] := '{}';
    more bigint[];
    more_scores float4[];
BEGIN
    -- The newest id from the primary key's last entry, the words and their counts from search_words' (a
    -- change inside the function is undone with it).
    PERFORM set_config('enable_indexscan', 'on', true);
    SELECT max(a.id) INTO newest FROM articles a;
    IF newest IS NULL THEN
        RETURN;
    END IF;
    IF strpos(matching, '''''') = 0 AND strpos(matching, '\') = 0 THEN
        -- Each prefix of the query's text becomes the words it begins, for the GIN index only (0018).
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
    END IF;
    SELECT e.estimate, e.bound INTO estimate, bound FROM search_matches_estimate(matching, newest) e;
    PERFORM set_config('enable_indexscan', 'off', true);
    IF bound = 0 THEN
        RETURN;
    END IF;
    -- The whole index rather than a window when reading every match it may hold costs less than listing
    -- the window's ids from the primary key: a match read costs about as much as 10 ids listed (2 against
    -- 0.2 µs at 100,000 articles). Not for a phrase (a hyphenated word is one): the GIN index only finds
    -- the articles holding its words, and each is read and checked for it.
    phrase := strpos(matching, '<') > 0;
    span := greatest(first_span, ceil(1.5 * wanted * newest / greatest(estimate, 1)))::bigint;
    IF bound * 10 <= span AND NOT phrase THEN
        span := newest;
    END IF;
    above := newest;
    LOOP
        -- The whole index rather than most of it.
        IF span * 2 >= newest THEN
            span := newest;
        END IF;
        below := newest - span;
        -- Two statements, not "scopes IS NULL OR EXISTS": an EXISTS under OR is no semi-join, and the
        -- planner may hash every visible article's scope row for it. The window's end is no condition on
        -- the primary key (id + 0): the key would list every id under it, the whole index once the window
        -- is, where the matches above it are few and read again cheaply.
        IF scopes IS NULL THEN
            SELECT array_agg(r.id), array_agg(ts_rank_cd('{0.1, 0.2, 0.25, 1.0}', r.search_vector, q, 1))
            INTO more, more_scores
            FROM (
                SELECT a.ctid FROM articles a
                WHERE a.id > below AND a.id + 0 <= above AND a.search_vector @@ matching::tsquery
                ORDER BY a.id DESC LIMIT wanted - cardinality(found)
            ) m JOIN articles r ON r.ctid = m.ctid;
        ELSE
            -- The window's matches newest first (OFFSET 0 keeps the planner from merging the two), each
            -- checked until enough are seen: not every match in the window.
            SELECT array_agg(r.id), array_agg(ts_rank_cd('{0.1, 0.2, 0.25, 1.0}', r.search_vector, q, 1))
            INTO more, more_scores
            FROM (
                SELECT w.ctid FROM (
                    SELECT a.id, a.ctid FROM articles a
                    WHERE a.id > below AND a.id + 0 <= above AND a.search_vector @@ matching::tsquery
                    ORDER BY a.id DESC OFFSET 0
                ) w
                WHERE EXISTS (
                    SELECT 1 FROM article_scopes vs WHERE vs.article_id = w.id AND vs.scope = ANY (scopes))
                ORDER BY w.id DESC LIMIT wanted - cardinality(found)
            ) m JOIN articles r ON r.ctid = m.ctid;
        END IF;
        found := found || coalesce(more, '{}');
        scores := scores || coalesce(more_scores, '{}');
        EXIT WHEN cardinality(found) >= wanted OR below <= 0;
        above := below;
        -- Wide enough for the density of matches seen so far, or eight times as wide when there were none;
        -- or the whole index, as above, for the matches that density makes.
        expected := greatest(cardinality(found), 1)::float8 * newest / span;
        span := CASE WHEN cardinality(found) = 0 THEN span * 8
                     ELSE greatest(span * 2, ceil(1.5 * span * wanted / cardinality(found))::bigint) END;
        IF expected * 10 <= span AND NOT phrase THEN
            span := newest;
        END IF;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(found, scores);
END
$$;
