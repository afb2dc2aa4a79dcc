"""Tests of the SMS Office integration."""
