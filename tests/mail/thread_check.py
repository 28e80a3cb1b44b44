#!/usr/bin/env python3
"""Checks, with Python's own `email` parser, that messages a customer received from Muster
sit in one thread as a mail client sees it.

Usage: thread_check.py SUBJECT FILE=ANSWERS [FILE=ANSWERS ...]

Every FILE must carry exactly SUBJECT, a Message-ID of its own, `In-Reply-To: <ANSWERS>`
and ANSWERS among its References. Prints "thread ok" or exits non-zero saying what is wrong.
"""
import sys
from email import policy
from email.parser import BytesParser


def ids(value):
    return [part.strip("<>") for part in str(value or "").split()]


def main():
    subject, pairs = sys.argv[1], sys.argv[2:]
    seen = set()
    for pair in pairs:
        path, answers = pair.rsplit("=", 1)
        with open(path, "rb") as f:
            message = BytesParser(policy=policy.default).parse(f)
        problems = []
        if message["Subject"] != subject:
            problems.append("Subject %r, not %r" % (message["Subject"], subject))
        message_id = str(message["Message-ID"] or "")
        if not message_id.startswith("<") or message_id in seen:
            problems.append("Message-ID %r missing or not unique" % message_id)
        seen.add(message_id)
        if ids(message["In-Reply-To"]) != [answers]:
            problems.append("In-Reply-To %r, not <%s>" % (message["In-Reply-To"], answers))
        if answers not in ids(message["References"]):
            problems.append("References %r lack <%s>" % (message["References"], answers))
        if problems:
            sys.exit("%s: %s" % (path, "; ".join(problems)))
    print("thread ok")


if __name__ == "__main__":
    main()
