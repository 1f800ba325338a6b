"""`csm serve`: the web app over the portfolio, its accounts, the sweeps and the chat agent
(FastAPI, server-rendered Jinja2 pages, SVG charts drawn on the server, a JSON API)."""
