"""Helpers the tests share (browser, servers, tiny data, reference networks); no test module
imports another."""
