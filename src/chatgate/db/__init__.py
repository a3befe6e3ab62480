"""Everything that speaks SQL: tables, engine, queries and migrations."""
