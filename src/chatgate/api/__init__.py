"""HTTP routes: thin, each telling its story and leaving the work to the modules
named after each step."""
