"""The boundary between student code and the trusted checks: what a call and its outcome are, and how a reply is decoded."""
