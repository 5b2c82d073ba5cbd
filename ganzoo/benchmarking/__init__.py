"""Benchmarks: suites of (variant, dataset, seed) runs, a resumable runner, and the leaderboard built from
its results.

    suite.py        read and check a suite TOML file (benchmarks/suites/*.toml)
    runner.py       run every (entry, seed) in worker processes; DIR/results.jsonl
    worker.py       one run in its own process: train or resume, evaluate, describe
    results.py      read results.jsonl back (the latest row of each run wins)
    leaderboard.py  mean +- std over seeds and ranks, per dataset and protocol (md, csv, json)
    html.py         the self-contained HTML leaderboard (sortable table, thumbnails, plots)
"""
