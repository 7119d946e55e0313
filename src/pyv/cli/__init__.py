"""The command-line interface: parse, call a domain function, render."""
