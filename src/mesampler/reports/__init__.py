"""Figures and summaries of attack results."""

from mesampler.reports.figure import amplify, save_attack_figure
from mesampler.reports.summary import environment, summary_text, write_summary

__all__ = ["amplify", "environment", "save_attack_figure", "summary_text", "write_summary"]
