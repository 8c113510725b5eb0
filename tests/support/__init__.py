"""The test harness, shared by the tests and the benchmarks: workspace (paths, settings, builds),
shared texts, the fake Bot API server, the local news site, PostgreSQL and nginx, the bot
process."""
