"""Great Expectations suites over silver and gold, the checkpoint runner and its HTML data docs."""
