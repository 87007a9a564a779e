DROP INDEX IF EXISTS claude_analyses_dedup_key;
