"""Sign-in and profiles of a Chatbot UI deployment on Supabase: its session cookie,
its access tokens, the same-site rule for cookie sign-in, and its own tables."""
