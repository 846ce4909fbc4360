"""Servers and helpers the safety and fault tests start on 127.0.0.1."""
