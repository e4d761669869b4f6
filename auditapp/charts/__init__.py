"""Inline SVG charts for server-rendered pages (no JavaScript); see svg.py."""
from .svg import band_for, gap_chart, heatmap, score_bars, trend_chart, verdict_bar

__all__ = ["band_for", "gap_chart", "heatmap", "score_bars", "trend_chart", "verdict_bar"]
