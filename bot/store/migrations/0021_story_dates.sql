-- Whether an article's date is its own (a feed's, a record's or a page's date: 1) or only when its file
-- was written or its feed read (0). Only dates of their own tell that two reports came out together
-- (bot.stories.published_together); articles stored before this was kept count as dated.
ALTER TABLE articles ADD COLUMN date_known INTEGER NOT NULL DEFAULT 1;
-- The time an article was placed at when its dateline put it away from its stored date
-- (bot.stories.event_time), so that articles placed near that time find its story.
ALTER TABLE article_stories ADD COLUMN shifted_time TEXT;
CREATE INDEX article_stories_by_shifted_time ON article_stories (shifted_time) WHERE shifted_time IS NOT NULL;
