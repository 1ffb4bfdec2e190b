-- Two stories that turn out to report one event (an article bridges them, bot.stories.same_event) are
-- merged: the articles and alerts of the one merged go to the other, and its row stays, pointing there,
-- so that "!story s15" and an old "!why" still lead somewhere. (BIGINT: the stories' ids are.)
ALTER TABLE stories ADD COLUMN merged_into BIGINT;
